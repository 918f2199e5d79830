import type * as grpc from '@grpc/grpc-js';

/**
 * The channel-level call grpc-js's `Client` drives (its internal `call-interface` `Call`,
 * not the surface `grpc.Call` union). grpc-js does not export it by name, so it is taken
 * from the public `grpc.ChannelInterface`, which every `channelOverride` must implement.
 */
export type ChannelCall = ReturnType<grpc.ChannelInterface['createCall']>;

/** Write flags and completion callback of one outgoing message. */
export type MessageContext = Parameters<ChannelCall['sendMessageWithContext']>[0];

/** grpc-js's deadline: a Date, or ms since the epoch; Infinity means none. */
export type Deadline = Parameters<grpc.ChannelInterface['createCall']>[1];

export function deadlineMs(deadline: Deadline | null | undefined): number {
  if (deadline === null || deadline === undefined) return Number.POSITIVE_INFINITY;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * Node fires a setTimeout longer than 2^31-1 ms after 1 ms, so a deadline that far away is
 * treated as none (grpc-js does the same).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
