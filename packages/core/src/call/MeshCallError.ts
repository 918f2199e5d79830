import type { RouteAction } from '@meshlet/xds-client';
import type { Host } from '../cluster/Host.js';
import type { AttemptOutcome } from '../retry/AttemptOutcome.js';
import { describeFlag, type ResponseFlagCode } from './ResponseFlags.js';

/** One attempt of a logical call, as recorded for errors and observers. */
export interface AttemptRecord {
  readonly host: Host;
  readonly outcome: AttemptOutcome;
  /** ms from attempt start to its outcome. */
  readonly durationMs: number;
}

/**
 * The reply Envoy would have generated locally for this failure (status, grpc-status and body),
 * so a transport that wants sidecar parity can turn the error into a response.
 */
export interface LocalReply {
  readonly status: number;
  readonly grpcStatus?: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly flags: readonly ResponseFlagCode[];
}

export interface MeshCallErrorInit {
  readonly target: string;
  readonly route: string | undefined;
  readonly cluster: string | undefined;
  /** The flag that decided the failure first; extra flags (DI, URX) follow. */
  readonly flags: readonly ResponseFlagCode[];
  readonly attempts: readonly AttemptRecord[];
  readonly localReply: LocalReply;
  /** Extra explanation, e.g. why a failed attempt was not retried. */
  readonly detail?: string;
  readonly cause?: unknown;
}

/** The reply of a call that failed in the mesh (`flags[0]` decided it), as both call engines make it. */
export function meshFailureReply(status: number, flags: readonly ResponseFlagCode[]): LocalReply {
  return { status, body: `meshlet: ${flags[0]}`, flags };
}

/** The status of the local reply when the route's cluster is not found (NC): RouteAction.cluster_not_found_response_code. */
export function clusterNotFoundStatus(action: RouteAction): number {
  return NOT_FOUND_STATUS[action.cluster_not_found_response_code ?? 'SERVICE_UNAVAILABLE'];
}

const NOT_FOUND_STATUS = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 } as const;

/** A logical call that ended without an upstream response to hand back. */
export class MeshCallError extends Error {
  override readonly name = 'MeshCallError';
  readonly target: string;
  readonly route: string | undefined;
  readonly cluster: string | undefined;
  readonly flags: readonly ResponseFlagCode[];
  readonly attempts: readonly AttemptRecord[];
  readonly localReply: LocalReply;

  constructor(init: MeshCallErrorInit) {
    super(formatMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.target = init.target;
    this.route = init.route;
    this.cluster = init.cluster;
    this.flags = init.flags;
    this.attempts = init.attempts;
    this.localReply = init.localReply;
  }

  /** The primary response flag. */
  get flag(): ResponseFlagCode {
    return this.flags[0]!;
  }
}

function formatMessage(init: MeshCallErrorInit): string {
  let msg = `meshlet: ${init.target}`;
  if (init.route !== undefined) msg += ` route "${init.route}"`;
  if (init.cluster !== undefined) msg += ` cluster "${init.cluster}"`;
  const primary = init.flags[0]!;
  msg += ` : ${describeFlag(primary)} (${init.flags.join(',')})`;
  const n = init.attempts.length;
  msg += ` after ${n} attempt${n === 1 ? '' : 's'}`;
  if (n > 0) {
    const last = init.attempts[n - 1]!;
    msg += `; last: ${last.host.key} ${last.outcome.kind === 'response' ? `status ${last.outcome.status}` : last.outcome.kind}`;
  }
  if (init.detail) msg += `; ${init.detail}`;
  return msg;
}
