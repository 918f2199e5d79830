import type { InterceptingListener } from '@grpc/grpc-js';
import type { AttemptResponse } from '@meshlet/core/client';

/** What the call engine returns for a gRPC call: an attempt's response or a local reply, delivered on commit. */
export interface GrpcResponse extends AttemptResponse {
  /** The engine chose this response: deliver it (and what follows) to the caller's listener. */
  commit(listener: InterceptingListener): void;
}
