import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdsServer } from '../../control-plane/src/server/index.js';
import { parseDebugTopics, topicLogger, withDebugOutput } from '../src/client/Debug.js';
import type { Logger } from '../src/client/Logger.js';
import { describeRequest, describeResponse } from '../src/transport/DiscoveryTrace.js';

const topics = (v: string | undefined) => [...parseDebugTopics(v)].sort();

describe('MESHLET_DEBUG parsing', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['xds', ['xds']],
    ['routing', ['routing']],
    ['xds,routing', ['routing', 'xds']],
    [' XDS , Routing ', ['routing', 'xds']],
    ['all', ['routing', 'xds']],
    ['*', ['routing', 'xds']],
    ['all,-xds', ['routing']],
    ['xds,-xds', []],
    ['tracer,xds,', ['xds']],
    ['nonsense', []],
  ])('%j -> %j', (value, expected) => {
    expect(topics(value)).toEqual(expected);
  });

  it('is read once at load: a module loaded with MESHLET_DEBUG=routing has routing on, xds off', async () => {
    vi.stubEnv('MESHLET_DEBUG', 'routing');
    vi.resetModules();
    try {
      const fresh = await import('../src/client/Debug.js');
      expect(fresh.isDebugEnabled('routing')).toBe(true);
      expect(fresh.isDebugEnabled('xds')).toBe(false);
      expect(fresh.debugLogger('xds')).toBeUndefined();
      const lines: string[] = [];
      fresh.debugLogger('routing', (l) => lines.push(l))!.debug('picked', { cluster: 'c' });
      expect(lines).toEqual(['[meshlet:routing] picked {"cluster":"c"}']);
      // Changing the variable later has no effect: the switch is fixed for the process.
      process.env['MESHLET_DEBUG'] = 'xds';
      expect(fresh.isDebugEnabled('xds')).toBe(false);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

describe('debug loggers', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('prints one line per call with level, message and JSON fields that survive Errors and cycles', () => {
    const lines: string[] = [];
    const log = topicLogger('xds', (l) => lines.push(l));
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    log.debug('plain');
    log.warn('NACK', { error: new Error('bad cluster'), n: 10n, cyclic });
    expect(lines).toEqual(['[meshlet:xds] plain', '[meshlet:xds] warn: NACK {"error":"bad cluster","n":"10","cyclic":{"a":1,"self":"[cycle]"}}']);
  });

  it('withDebugOutput leaves the logger alone while the topic is off', () => {
    const base: Logger = { debug() {}, info() {}, warn() {}, error() {} };
    expect(withDebugOutput('xds', base)).toBe(base);
  });
});

describe('xds trace lines', () => {
  it('tells a subscription, an ACK and a NACK apart, SotW and delta, without resource bodies', () => {
    const type = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
    expect(describeRequest({ type_url: type, version_info: '', resource_names: ['c1'], response_nonce: '' }, false)).toEqual({
      message: 'xDS request (subscribe)',
      fields: { type: 'Cluster', version: '', names: ['c1'] },
    });
    expect(describeRequest({ type_url: type, version_info: '3', resource_names: ['c1'], response_nonce: 'n3' }, false).message).toBe('xDS request (ACK)');
    expect(describeRequest({ type_url: type, version_info: '2', resource_names: ['c1'], response_nonce: 'n3', error_detail: { code: 3, message: 'c1: bad' } }, false)).toEqual({
      message: 'xDS request (NACK)',
      fields: { type: 'Cluster', version: '2', names: ['c1'], nonce: 'n3', error: 'c1: bad' },
    });
    expect(describeRequest({ type_url: type, resource_names_subscribe: ['a'], resource_names_unsubscribe: ['b'] }, true)).toEqual({
      message: 'xDS request (subscribe)',
      fields: { type: 'Cluster', subscribe: ['a'], unsubscribe: ['b'] },
    });
    expect(describeResponse({ type_url: type, version_info: '3', nonce: 'n3', resources: [{ type_url: type, value: Buffer.from('secret') }] }, false)).toEqual({
      message: 'xDS response',
      fields: { type: 'Cluster', version: '3', resources: 1, nonce: 'n3' },
    });
    expect(describeResponse({ type_url: type, system_version_info: 'v', nonce: 'd1', resources: [{ name: 'a' }], removed_resources: ['b'] }, true).fields).toEqual({
      type: 'Cluster',
      version: 'v',
      resources: ['a'],
      removed: ['b'],
      nonce: 'd1',
    });
  });

  it('MESHLET_DEBUG=xds: a real XdsClient prints requests, responses, ACK and NACK to stderr', async () => {
    const server = new AdsServer();
    const cluster = (name: string, extra: object = {}) => ({ name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 }, ...extra });
    server.setResources('type.googleapis.com/envoy.config.cluster.v3.Cluster', { good: cluster('good'), bad: cluster('bad', { outlier_detection: { max_ejection_percent: { value: 150 } } }) });
    const { port } = await server.listen(0);
    vi.stubEnv('MESHLET_DEBUG', 'xds');
    vi.resetModules();
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    try {
      // Fresh modules: the switch is read once when Debug.ts loads.
      const { XdsClient } = await import('../src/client/XdsClient.js');
      const { ClusterResource } = await import('../src/resources/index.js');
      const client = new XdsClient({ bootstrap: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } } });
      await new Promise<void>((resolve) => {
        let n = 0;
        const done = () => ++n === 2 && resolve();
        client.watch(ClusterResource, 'good', { onResource: done });
        client.watch(ClusterResource, 'bad', { onResource() {}, onError: done });
      });
      await new Promise((r) => setTimeout(r, 50));
      client.close();
      const err = written.join('');
      expect(err).toMatch(/\[meshlet:xds\] xDS request \(subscribe\) \{"server":"127\.0\.0\.1:\d+","type":"Cluster"/);
      expect(err).toMatch(/\[meshlet:xds\] xDS response \{.*"type":"Cluster".*"resources":2/);
      expect(err).toMatch(/\[meshlet:xds\] warn: xDS response rejected \(NACK\)/);
      expect(err).toMatch(/\[meshlet:xds\] xDS request \(NACK\) .*"error":".*bad/);
      // The default console logger is replaced, not doubled: the NACK warning prints once.
      expect(err.match(/rejected \(NACK\)/g)).toHaveLength(1);
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
      vi.resetModules();
      await server.close();
    }
  });
});
