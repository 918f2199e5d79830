import type { InterceptingListener, StatusObject } from '@grpc/grpc-js';
import type { HeaderLookup, LocalReply } from '@meshlet/core/client';
import type { GrpcResponse } from './GrpcResponse.js';
import { statusForLocalReply } from './MeshCallStatus.js';

const NO_HEADERS: HeaderLookup = { get: () => null };

/** A reply the mesh made itself (fault abort, direct_response), delivered as a Trailers-Only status. */
export class LocalGrpcReply implements GrpcResponse {
  readonly status: number;
  readonly headers = NO_HEADERS;
  readonly grpcStatus: number;
  private readonly statusObject: StatusObject;

  constructor(reply: LocalReply, target: string) {
    this.status = reply.status;
    this.statusObject = statusForLocalReply(reply, target);
    this.grpcStatus = this.statusObject.code;
  }

  discard(): void {}

  commit(listener: InterceptingListener): void {
    listener.onReceiveStatus(this.statusObject);
  }
}
