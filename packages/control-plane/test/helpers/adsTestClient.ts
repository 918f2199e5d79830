import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../src/server/index.js';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../src/server/index.js';

/**
 * One client side of a bidi ADS stream, with responses queued so a test can await them
 * in order. Built on a raw grpc-js client from the server's own service definition.
 */
export class StreamProbe<Req, Res> {
  readonly #queue: Res[] = [];
  readonly #waiters: { resolve: (value: Res) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }[] = [];
  /** Resolves with the call's final status. */
  readonly status: Promise<grpc.StatusObject>;

  constructor(readonly call: grpc.ClientDuplexStream<Req, Res>) {
    call.on('data', (message: Res) => {
      const waiter = this.#waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(message);
      } else {
        this.#queue.push(message);
      }
    });
    // Errors surface through `status`; the listener keeps them from being thrown.
    call.on('error', () => {});
    this.status = new Promise((resolve) => call.on('status', resolve));
  }

  send(request: Req): void {
    this.call.write(request);
  }

  /** The next response, failing after timeoutMs (a safety net, not a timing assertion). */
  next(timeoutMs = 5000): Promise<Res> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiters.findIndex((w) => w.timer === timer);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push({ resolve, reject, timer });
    });
  }

  /** Responses received but not yet taken. */
  get pending(): number {
    return this.#queue.length;
  }

  cancel(): void {
    this.call.cancel();
  }
}

type AdsClient = grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
};

export class AdsTestClient {
  readonly #client: AdsClient;
  readonly #probes: StreamProbe<unknown, unknown>[] = [];

  constructor(port: number) {
    const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
    this.#client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AdsClient;
  }

  sotw(): StreamProbe<DiscoveryRequest, DiscoveryResponse> {
    const probe = new StreamProbe(this.#client.StreamAggregatedResources());
    this.#probes.push(probe as StreamProbe<unknown, unknown>);
    return probe;
  }

  delta(): StreamProbe<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
    const probe = new StreamProbe(this.#client.DeltaAggregatedResources());
    this.#probes.push(probe as StreamProbe<unknown, unknown>);
    return probe;
  }

  close(): void {
    for (const probe of this.#probes) probe.cancel();
    this.#client.close();
  }
}
