import type { RetryPolicy, Route, RouteConfiguration } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { CircuitBreaker } from '../../src/cluster/CircuitBreaker.js';
import { Host } from '../../src/cluster/Host.js';
import type { AttemptResult } from '../../src/cluster/AttemptResult.js';
import type { PickContext } from '../../src/cluster/PickContext.js';
import { AttemptError, type AttemptRequest, type AttemptResponse, type AttemptTransport } from '../../src/call/AttemptTransport.js';
import type { CallCluster, CallSnapshot } from '../../src/call/CallSnapshot.js';
import type { LocalReply } from '../../src/call/MeshCallError.js';
import { headers } from '../call/fixtures.js';

/** A call-engine setup over a fake transport, as in CallEngine.test.ts. */
export const CLUSTER = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const EMPTY = { request_headers_to_add: [], request_headers_to_remove: [], response_headers_to_add: [], response_headers_to_remove: [], typed_per_filter_config: {} };

export function routeConfig(retryOn?: string): RouteConfiguration {
  const retry_policy: RetryPolicy | undefined =
    retryOn === undefined
      ? undefined
      : { retry_on: retryOn.split(','), num_retries: 2, retriable_status_codes: [], retriable_headers: [], retriable_request_headers: [], retry_host_predicate: [], retry_back_off: { base_interval: 1, max_interval: 2 } };
  const route: Route = {
    name: 'reviews-route',
    match: { prefix: '/', case_sensitive: true, headers: [], query_parameters: [] },
    route: { cluster: CLUSTER, hash_policy: [], ...(retry_policy ? { retry_policy } : {}) },
    ...EMPTY,
  } as Route;
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [route], ...EMPTY }], ...EMPTY } as RouteConfiguration;
}

export class FakeCluster implements CallCluster {
  readonly breakers = new CircuitBreaker(undefined);
  breakersFor(): CircuitBreaker {
    return this.breakers;
  }
  private next = 0;
  constructor(readonly hosts: Host[]) {}
  pick(_ctx: PickContext): Host | undefined {
    return this.hosts[this.next++ % this.hosts.length];
  }
  reportResult(_host: Host, _result: AttemptResult): void {}
}

export function snapshot(rc: RouteConfiguration, hosts = [new Host('10.0.0.1', 9080), new Host('10.0.0.2', 9080)]): CallSnapshot {
  const cluster = new FakeCluster(hosts);
  return { target: 'reviews.default.svc.cluster.local:9080', routeTable: RouteTable.compile(rc), cluster: (n) => (n === CLUSTER ? cluster : undefined) };
}

export type Step = number | 'connect-failure' | { status: number; grpc: number };

/** Answers each attempt with the next step; `onSend` sees each attempt as the transport builds it. */
export class FakeTransport implements AttemptTransport {
  private n = 0;
  constructor(
    private readonly steps: Step[],
    private readonly onSend: (attempt: AttemptRequest) => void = () => {},
  ) {}
  async send(attempt: AttemptRequest): Promise<AttemptResponse> {
    this.onSend(attempt);
    const step = this.steps[Math.min(this.n++, this.steps.length - 1)]!;
    await new Promise((r) => setTimeout(r, 1));
    if (step === 'connect-failure') throw new AttemptError('connect-failure', 'refused');
    const s = typeof step === 'number' ? { status: step, grpc: undefined } : step;
    return { status: s.status, grpcStatus: s.grpc, headers: headers(), discard() {} };
  }
  localReply(reply: LocalReply): AttemptResponse {
    return { status: reply.status, headers: headers(), discard() {} };
  }
}

export const request = (h: Record<string, string> = {}) => ({
  view: { authority: 'reviews', path: '/reviews/1', method: 'GET', headers: headers(h) as { get(n: string): string | undefined }, isGrpc: false },
  replayable: true,
});

/** A Map-backed header carrier, as RequestHeaders behaves (lower-case names). */
export class MapHeaders {
  readonly map = new Map<string, string>();
  constructor(init: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(init)) this.map.set(k.toLowerCase(), v);
  }
  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
}
