import { InterceptingCall, type Interceptor, type Metadata } from '@grpc/grpc-js';

export interface MeshInterceptorOptions {
  /**
   * Metadata to add to every call, computed per call (e.g. the current trace context:
   * `traceparent`, `tracestate`, `x-request-id`). Existing values of the same key are kept.
   */
  readonly metadata: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>);
}

/**
 * A grpc-js client interceptor for what rides on metadata. It works on any grpc-js
 * client, meshed or not (`interceptors: [meshInterceptor(...)]`), and runs before the
 * MeshChannel sees the call, so the added metadata can also drive route header matching
 * and ring-hash header policies.
 */
export function meshInterceptor(options: MeshInterceptorOptions): Interceptor {
  return (interceptorOptions, nextCall) =>
    new InterceptingCall(nextCall(interceptorOptions), {
      start(metadata: Metadata, listener, next) {
        const extra = typeof options.metadata === 'function' ? options.metadata() : options.metadata;
        for (const [key, value] of Object.entries(extra)) {
          if (metadata.get(key).length === 0) metadata.set(key, value);
        }
        next(metadata, listener);
      },
    });
}
