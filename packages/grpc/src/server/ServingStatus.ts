import type { status as Status } from '@grpc/grpc-js';

/**
 * A serving-state change of one bound address (gRFC A36 `onServingStatusChange`): `code` is OK
 * when the server starts serving on it, and UNAVAILABLE (with the reason in `details`) when it
 * stops or cannot start: the Listener does not exist, is invalid, or could not be fetched.
 */
export interface ServingStatus {
  readonly code: Status;
  readonly details: string;
}

/** `address` is the bound address as it appears in the Listener resource name (`ip:port`, `[ip6]:port`). */
export type ServingStatusListener = (address: string, status: ServingStatus) => void;
