import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/**
 * A caller's handler that speaks undici's legacy callbacks (undici.request, Node's fetch, most
 * handlers written for undici 6), seen through undici's current handler API, which the mesh
 * uses for local replies, failures and changed response headers. undici's own adapter for this
 * (DecoratorHandler) is deprecated, wraps a second adapter and checks every callback with
 * assertions and rest parameters; this one is a direct translation, made once per request.
 */
export class LegacyCallerHandler implements Dispatcher.DispatchHandler {
  constructor(private readonly legacy: Dispatcher.DispatchHandler) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    startLegacyCaller(this.legacy, controller, context);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (this.legacy.onHeaders?.(statusCode, rawHeaderList(headers), () => controller.resume(), statusMessage ?? '') === false) controller.pause();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.legacy.onData?.(chunk) === false) controller.pause();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.legacy.onComplete?.(rawHeaderList(trailers) as unknown as string[]);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.legacy.onError?.(err);
  }
}

/** Handlers may use undici's current API or the legacy one Node's bundled fetch still uses. */
export function modernHandler(handler: Dispatcher.DispatchHandler): Dispatcher.DispatchHandler {
  return typeof handler.onRequestStart === 'function' ? handler : new LegacyCallerHandler(handler);
}

/** The handler itself when it only speaks undici's legacy callbacks (raw header lists). */
export function legacyHandlerOf(handler: Dispatcher.DispatchHandler): Dispatcher.DispatchHandler | undefined {
  return typeof handler.onRequestStart !== 'function' && typeof handler.onHeaders === 'function' ? handler : undefined;
}

/**
 * Tells a legacy handler its request started (onConnect), with an abort that acts on `controller`. undici
 * passes the request's context as a second argument (undici.request hands it to the caller); its own
 * clients pass none.
 * The abort is the controller's own method bound to it: a bound function is 48 bytes, where an arrow
 * function over `controller` was a closure and its context, 96 bytes per request (heap snapshot).
 */
export function startLegacyCaller(legacy: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController, context?: unknown): void {
  const onConnect = legacy.onConnect as ((abort: (reason?: Error) => void, context: unknown) => void) | undefined;
  if (onConnect !== undefined) onConnect.call(legacy, controller.abort.bind(controller) as (reason?: Error) => void, context);
}

/** Parsed headers back to undici's raw list: [name, value, ...] as latin1 Buffers, one pair per value. */
export function rawHeaderList(headers: IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(Buffer.from(key, 'latin1'), Buffer.from(v, 'latin1'));
    else raw.push(Buffer.from(key, 'latin1'), Buffer.from(value, 'latin1'));
  }
  return raw;
}
