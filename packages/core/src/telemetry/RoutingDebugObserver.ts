import { debugLogger, type Logger } from '@meshlet/xds-client';
import type { AttemptRequest } from '../call/AttemptTransport.js';
import type { CallObserver, CallSummary } from '../call/CallObserver.js';
import type { AttemptRecord } from '../call/MeshCallError.js';
import type { Mesh } from '../mesh/Mesh.js';
import type { AttemptOutcome, RetryReason } from '../retry/AttemptOutcome.js';

export interface RoutingDecisionAttempt {
  readonly n: number;
  readonly cluster: string;
  readonly endpoint: string;
  /** `200`, `grpc-status 14`, `connect-failure`, `reset`, `per-try-timeout`... */
  readonly outcome: string;
  /** The retry_on condition that made the engine try again; absent when it did not. */
  readonly retry?: RetryReason;
  readonly ms: number;
}

/** One HTTP or gRPC call's routing, as MESHLET_DEBUG=routing prints it (and hands to a custom Logger as fields). */
export interface RoutingDecision {
  readonly target: string;
  readonly virtual_host: string | undefined;
  readonly route: string | undefined;
  readonly cluster: string | undefined;
  readonly status: number | undefined;
  /** gRPC calls: the status the response stream ended with (trailers), when it has ended with one. */
  readonly grpc_status?: number;
  readonly flags: readonly string[];
  readonly ms: number;
  readonly attempts: readonly RoutingDecisionAttempt[];
}

export interface RoutingDebugObserverOptions {
  /** Where decisions go; default: stderr as `[meshlet:routing] ...`. */
  readonly logger: Logger;
  /**
   * Used to name the virtual host of the route that matched (the call engine reports the route
   * name only): the target's current route table is searched for that route name.
   */
  readonly mesh?: Pick<Mesh, 'state'>;
}

function outcomeText(outcome: AttemptOutcome): string {
  if (outcome.kind !== 'response') return outcome.kind;
  return outcome.grpcStatus !== undefined && outcome.grpcStatus !== 0 ? `${outcome.status} grpc-status ${outcome.grpcStatus}` : String(outcome.status);
}

/**
 * Explains routing decisions, one log line per call once it ends: target, virtual host, route,
 * cluster, final status and response flags, then every attempt (endpoint, outcome, and the
 * retry reason when the engine retried). One line per call, not per attempt, so concurrent
 * calls never interleave their attempts in the output. A debugging aid: it keeps a retry
 * reason per in-flight attempt record and nothing else.
 */
export class RoutingDebugObserver implements CallObserver {
  /** Retry reasons by attempt record (the engine passes the same record in the summary). */
  private readonly reasons = new WeakMap<AttemptRecord, RetryReason>();
  /** The cluster of each attempt, which the record does not carry. */
  private readonly clusters = new WeakMap<AttemptRecord, string>();

  constructor(private readonly options: RoutingDebugObserverOptions) {}

  onAttemptEnd(attempt: AttemptRequest, record: AttemptRecord, retryReason: RetryReason | undefined): void {
    this.clusters.set(record, attempt.cluster);
    if (retryReason !== undefined) this.reasons.set(record, retryReason);
  }

  onCallEnd(summary: CallSummary): void {
    const decision = this.decision(summary);
    this.options.logger.debug(formatRoutingDecision(decision), { decision });
  }

  /** The structured form of one call's routing. */
  decision(summary: CallSummary): RoutingDecision {
    return {
      target: summary.target,
      virtual_host: this.virtualHostOf(summary),
      route: summary.route,
      cluster: summary.cluster,
      status: summary.status,
      ...(summary.grpcStatus !== undefined ? { grpc_status: summary.grpcStatus } : {}),
      flags: summary.flags,
      ms: Math.round(summary.durationMs),
      attempts: summary.attempts.map((record, i) => {
        const retry = this.reasons.get(record);
        return {
          n: i + 1,
          cluster: this.clusters.get(record) ?? summary.cluster ?? '?',
          endpoint: record.host.key,
          outcome: outcomeText(record.outcome),
          ...(retry !== undefined ? { retry } : {}),
          ms: Math.round(record.durationMs),
        };
      }),
    };
  }

  private virtualHostOf(summary: CallSummary): string | undefined {
    if (!this.options.mesh || summary.route === undefined) return undefined;
    try {
      const state = this.options.mesh.state(summary.target);
      if (state.kind !== 'ready') return undefined;
      const hits = state.snapshot.routeTable.virtualHosts.filter((vh) => vh.virtualHost.routes.some((r) => r.name === summary.route));
      // An ambiguous route name (two virtual hosts reuse it) is not guessed.
      return hits.length === 1 ? hits[0]!.virtualHost.name : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * `reviews:9080 vhost=reviews.default.svc.cluster.local:9080 route=r1 cluster=outbound|9080|v2|reviews... -> 200 in 14 ms;
 * attempt 1 10.0.0.1:9080 503 retry=5xx 3 ms; attempt 2 10.0.0.2:9080 200 2 ms`; a gRPC call's
 * final status reads `-> 200 grpc-status 0`.
 */
export function formatRoutingDecision(d: RoutingDecision): string {
  const head = [
    d.target,
    `vhost=${d.virtual_host ?? '?'}`,
    `route=${d.route ?? (d.flags.includes('NR') ? '(none)' : '?')}`,
    `cluster=${d.cluster ?? '(none)'}`,
    `-> ${d.status ?? 'no response'}${d.grpc_status !== undefined ? ` grpc-status ${d.grpc_status}` : ''}${d.flags.length > 0 ? ` flags=${d.flags.join(',')}` : ''} in ${d.ms} ms`,
  ].join(' ');
  const attempts = d.attempts.map(
    (a) => `attempt ${a.n} ${a.endpoint}${a.cluster !== d.cluster ? ` (${a.cluster})` : ''} ${a.outcome}${a.retry ? ` retry=${a.retry}` : ''} ${a.ms} ms`,
  );
  return [head, ...attempts].join('; ');
}

/**
 * The observer MESHLET_DEBUG=routing asks for, or undefined when the switch is off (so the call
 * path pays nothing). `logger` overrides stderr (a custom Logger still needs the switch on).
 */
export function routingDebugObserver(mesh?: Pick<Mesh, 'state'>, logger?: Logger): RoutingDebugObserver | undefined {
  const sink = debugLogger('routing');
  if (!sink) return undefined;
  return new RoutingDebugObserver({ logger: logger ?? sink, ...(mesh ? { mesh } : {}) });
}
