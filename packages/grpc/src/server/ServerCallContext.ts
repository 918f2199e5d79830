import type { EventEmitter } from 'node:events';
import type { Metadata, UntypedHandleCall } from '@grpc/grpc-js';
import { context, type Context } from '@opentelemetry/api';

/**
 * The OTel context (caller's trace + this server's SERVER span) of each call, by the call's request
 * Metadata: the one object that goes from the connection interceptor, through any application
 * interceptors, to the handler's `call.metadata`. Weak, so a call that never reaches its handler
 * (rejected, cancelled) leaves nothing behind.
 */
const contexts = new WeakMap<Metadata, Context>();

/** Called by the connection interceptor once the call's SERVER span exists. */
export function rememberServerCallContext(metadata: Metadata, ctx: Context): void {
  contexts.set(metadata, ctx);
}

type AnyHandler = (call: { readonly metadata: Metadata } & EventEmitter, callback?: unknown) => void;

/**
 * `handler` made to run in its call's context. grpc-js invokes handlers from later HTTP/2 stream
 * events (a unary handler on the request's half-close), where the context active when the
 * interceptor admitted the call is long gone; so the handler body and everything it starts
 * synchronously run in `context.with`, and a streaming call's emitter is bound so its 'data',
 * 'end' and 'cancelled' listeners run in that context too. An app interceptor that replaced the
 * Metadata object leaves the handler in whatever context is active (no span is guessed).
 */
export function inServerCallContext(handler: UntypedHandleCall, type: string): UntypedHandleCall {
  const inner = handler as unknown as AnyHandler;
  const streaming = type !== 'unary';
  const wrapped: AnyHandler = function (this: unknown, call, callback) {
    const ctx = contexts.get(call.metadata);
    if (ctx === undefined) return inner.call(this, call, callback);
    // The emitter's listeners (added now or later by the handler) are bound, not the emitter replaced.
    if (streaming) context.bind(ctx, call);
    return context.with(ctx, inner, this, call, callback);
  };
  return wrapped as unknown as UntypedHandleCall;
}
