import { ServerInterceptingCall, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import { startGrpcServerSpan, type GrpcServerSpan } from '@meshlet/core';
import type { Admission, IncomingCall } from './ServerCallAdmission.js';
import { rememberServerCallContext } from './ServerCallContext.js';

/**
 * The grpc-js server interceptor of one connection: each call is admitted (routes, RBAC, faults)
 * from the call's metadata before any application interceptor or handler sees it. A rejected call
 * ends with its status and the handler never runs; an accepted one goes on, after the fault delay
 * if one was injected. Each call gets a SERVER span continuing the caller's trace (ended with the
 * status sent, rejections included), which MeshServer's handler wrapper makes the active context.
 */
export function connectionInterceptor(
  admit: (call: IncomingCall, serverCall: ServerInterceptingCallInterface) => Admission,
   onReject?: (call: IncomingCall, admission: Extract<Admission, { kind: 'reject' }>) => void): ServerInterceptor {
  return (method, call) => {
    let release: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let serverSpan: GrpcServerSpan | undefined;
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      release?.();
      release = undefined;
    };
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            serverSpan = startGrpcServerSpan(method.path, metadata);
            rememberServerCallContext(metadata, serverSpan.context);
            const incoming: IncomingCall = { path: method.path, authority: call.getHost(), metadata };
            const a = admit(incoming, call);
            if (a.kind === 'accept' && a.faults.length > 0) release = () => a.faults.forEach((f) => f.release());
            const proceed = (): void => {
              timer = undefined;
              if (a.kind === 'reject') {
                done();
                onReject?.(incoming, a);
                // Straight to the inner call: nothing above this interceptor sees the call.
                serverSpan?.end(a.code, a.details);
                call.sendStatus({ code: a.code, details: a.details });
              } else {
                context.with(serverSpan!.context, () => nextMetadata(metadata));
              }
            };
            if (a.delayMs > 0) timer = setTimeout(proceed, a.delayMs);
            else proceed();
          },
          onCancel: () => {
            serverSpan?.end(1 /* CANCELLED */, 'cancelled');
            done();
          },
        });
      },
      sendStatus: (status, nextStatus) => {
        done();
        serverSpan?.end(status.code, status.details);
        nextStatus(status);
      },
    });
  };
}
