/**
 * Envoy access-log response flags (%RESPONSE_FLAGS%) that a client-side call can produce.
 * The short codes are what Envoy logs, so Meshlet logs and metrics line up with sidecars'.
 */
export const ResponseFlag = {
  /** NR: no route configured for the request (or no cluster for it). */
  NO_ROUTE_FOUND: 'NR',
  /** UH: no healthy upstream host in the cluster. */
  NO_HEALTHY_UPSTREAM: 'UH',
  /** UO: upstream overflow (circuit breaking). */
  UPSTREAM_OVERFLOW: 'UO',
  /** UF: upstream connection failure. */
  UPSTREAM_CONNECTION_FAILURE: 'UF',
  /** URX: rejected because the retry limit (num_retries) or max connect attempts was reached. */
  UPSTREAM_RETRY_LIMIT_EXCEEDED: 'URX',
  /** UT: upstream request timeout (route timeout). */
  UPSTREAM_REQUEST_TIMEOUT: 'UT',
  /** DI: the request was delayed by fault injection. */
  DELAY_INJECTED: 'DI',
  /** FI: the request was aborted by fault injection. */
  FAULT_INJECTED: 'FI',
  /** UC: upstream connection termination. */
  UPSTREAM_CONNECTION_TERMINATION: 'UC',
  /** UR: upstream remote reset. */
  UPSTREAM_REMOTE_RESET: 'UR',
  /** LR: connection local reset. */
  LOCAL_RESET: 'LR',
  /** DC: downstream (caller) cancelled the request. */
  DOWNSTREAM_CONNECTION_TERMINATION: 'DC',
  /** NC: upstream cluster not found. */
  NO_CLUSTER_FOUND: 'NC',
  /** UMSDR: upstream request reached max stream duration. */
  UPSTREAM_MAX_STREAM_DURATION_REACHED: 'UMSDR',
} as const;

export type ResponseFlagCode = (typeof ResponseFlag)[keyof typeof ResponseFlag];

const DESCRIPTIONS: Readonly<Record<ResponseFlagCode, string>> = {
  NR: 'no route',
  UH: 'no healthy upstream',
  UO: 'upstream overflow',
  UF: 'upstream connection failure',
  URX: 'retry limit exceeded',
  UT: 'upstream request timeout',
  DI: 'delay injected',
  FI: 'fault injected',
  UC: 'upstream connection termination',
  UR: 'upstream reset',
  LR: 'local reset',
  DC: 'cancelled by caller',
  NC: 'cluster not found',
  UMSDR: 'max stream duration reached',
};

export function describeFlag(flag: ResponseFlagCode): string {
  return DESCRIPTIONS[flag];
}
