import * as grpc from '@grpc/grpc-js';
import { adsServiceClientConstructor } from '../../src/transport/AdsServiceClient.js';
import { waitFor } from './RecordingWatcher.js';

type Message = Record<string, any>;

/** One server-side ADS stream whose responses the test writes by hand. */
export class ScriptedStream {
  readonly requests: Message[] = [];
  private cursor = 0;
  ended = false;

  constructor(
    private readonly call: grpc.ServerDuplexStream<Message, Message>,
    readonly delta: boolean,
  ) {
    call.on('data', (m: Message) => this.requests.push(m));
    call.on('error', () => {});
    call.on('close', () => (this.ended = true));
    call.on('end', () => (this.ended = true));
  }

  async nextRequest(timeoutMs = 5000): Promise<Message> {
    await waitFor(() => this.requests.length > this.cursor, timeoutMs, 'next request');
    return this.requests[this.cursor++]!;
  }

  /** Requests not consumed yet. */
  get pending(): Message[] {
    return this.requests.slice(this.cursor);
  }

  send(response: Message): void {
    this.call.write(response);
  }

  fail(code = grpc.status.UNAVAILABLE): void {
    this.call.emit('error', { code, details: 'scripted failure' });
    this.ended = true;
  }
}

/**
 * A real gRPC server speaking the ADS service with no logic of its own, for
 * wire-level assertions (what exactly the client sends, in which order).
 */
export class ScriptedAdsServer {
  readonly streams: ScriptedStream[] = [];
  private readonly server = new grpc.Server();

  constructor() {
    const handler = (delta: boolean) => (call: grpc.ServerDuplexStream<Message, Message>) => void this.streams.push(new ScriptedStream(call, delta));
    this.server.addService((adsServiceClientConstructor() as unknown as { service: grpc.ServiceDefinition }).service, {
      StreamAggregatedResources: handler(false),
      DeltaAggregatedResources: handler(true),
    });
  }

  async listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
  }

  async stream(index: number, timeoutMs = 5000): Promise<ScriptedStream> {
    return waitFor(() => this.streams[index], timeoutMs, `stream #${index}`);
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }
}
