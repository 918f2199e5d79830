import type { Dispatcher } from 'undici';

/**
 * The caller's dispatch options as the mesh keeps them for one call: a copy made once per request, with
 * the keys the mesh reads and writes declared first. On Node 20, undici.request (and fetch) hand dispatch
 * an object made as `{ ...opts, origin, path, method }`, and V8 gives each such object a hidden class of
 * its own: every property read from it misses the inline caches and is looked up in the runtime. The
 * mesh read origin, headers, path, method and body from it about eight times per request and copied it
 * once more per attempt. Copied into a literal that declares its keys first, requests shaped alike share
 * one hidden class, and the reads that follow are cached.
 *
 * The first attempt is dispatched with this object itself when it keeps the request's path (attemptDispatchOptions).
 */
export function callDispatchOptions(opts: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
  // (`opts as object`: TypeScript refuses keys it knows the spread overwrites; here that is the point.)
  return { origin: undefined, path: undefined, method: undefined, headers: undefined, body: undefined, ...(opts as object) } as unknown as Dispatcher.DispatchOptions;
}

/**
 * An attempt's options: the call's own (callDispatchOptions) with the attempt's origin, path, headers and
 * body written in place, for a first attempt whose path is the request's (no rewrite: the call reads the
 * request's path from its options, so it must stay); else a copy: for a retry, undici may still hold the
 * first attempt's (a pool queues a request it cannot start). The copy's four keys come first, then the
 * call's options, then the four are set again (they win): written as `{ ...opts, origin, path, headers, body }`
 * it is the same object, but on Node 20 adding a key the copied object lacks takes V8's slow path, about
 * 3 µs and a new hidden class per attempt.
 */
export function attemptDispatchOptions(
  call: Dispatcher.DispatchOptions,
  first: boolean,
  origin: string,
  path: string,
  headers: string[],
  body: Dispatcher.DispatchOptions['body'],
): Dispatcher.DispatchOptions {
  const o = first && path === call.path ? call : ({ origin, path, headers, body, ...(call as object) } as Dispatcher.DispatchOptions);
  o.origin = origin;
  o.path = path;
  o.headers = headers;
  o.body = body;
  return o;
}
