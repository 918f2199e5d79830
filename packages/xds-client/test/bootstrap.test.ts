import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BootstrapError,
  loadBootstrapFromEnv,
  parseBootstrap,
  parseBootstrapJson,
  parseDurationString,
  resolveBootstrap,
} from '../src/bootstrap/index.js';

const dir = mkdtempSync(join(tmpdir(), 'meshlet-bootstrap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shape istio-agent writes for proxyless gRPC (pkg/istio-agent/grpcxds), with a Go-marshalled node. */
const istioAgentBootstrap = {
  xds_servers: [{ server_uri: 'unix:///etc/istio/proxy/XDS', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: {
    id: 'sidecar~10.244.0.36~echo-v1-6d9f7b8c5-x2x4p.echo-grpc~echo-grpc.svc.cluster.local',
    metadata: {
      ANNOTATIONS: { 'inject.istio.io/templates': 'grpc-agent', 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' },
      CLUSTER_ID: 'Kubernetes',
      ENVOY_PROMETHEUS_PORT: 15090,
      GENERATOR: 'grpc',
      INSTANCE_IPS: '10.244.0.36',
      ISTIO_VERSION: '1.20.0',
      LABELS: { app: 'echo', version: 'v1' },
      MESH_ID: 'cluster.local',
      NAMESPACE: 'echo-grpc',
      PILOT_SAN: ['istiod.istio-system.svc'],
      PROXY_CONFIG: { discoveryAddress: 'istiod.istio-system.svc:15012', statusPort: 15020, tracing: { zipkin: { address: 'zipkin.istio-system:9411' } } },
      SERVICE_ACCOUNT: 'default',
    },
    locality: {},
    UserAgentVersionType: null,
  },
  certificate_providers: {
    default: {
      plugin_name: 'file_watcher',
      config: {
        certificate_file: '/var/lib/istio/data/cert-chain.pem',
        private_key_file: '/var/lib/istio/data/key.pem',
        ca_certificate_file: '/var/lib/istio/data/root-cert.pem',
        refresh_interval: '900s',
      },
    },
  },
  server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
};

function errorOf(fn: () => unknown): BootstrapError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BootstrapError);
    return error as BootstrapError;
  }
  throw new Error('expected a BootstrapError');
}

const minimal = { xds_servers: [{ server_uri: 'localhost:15010', channel_creds: [{ type: 'insecure' }] }] };

describe('bootstrap: istio-agent file', () => {
  it('loads the file istio-agent writes, as is, via GRPC_XDS_BOOTSTRAP', () => {
    const file = join(dir, 'grpc-bootstrap.json');
    writeFileSync(file, JSON.stringify(istioAgentBootstrap, null, 2));
    const b = loadBootstrapFromEnv({ GRPC_XDS_BOOTSTRAP: file });
    expect(b.xds_servers).toHaveLength(1);
    expect(b.xds_servers[0]).toMatchObject({
      server_uri: 'unix:///etc/istio/proxy/XDS',
      channel_creds: { type: 'insecure' },
      server_features: ['xds_v3'],
      ignore_resource_deletion: false,
      delta_xds: false,
    });
    expect(b.node.id).toBe('sidecar~10.244.0.36~echo-v1-6d9f7b8c5-x2x4p.echo-grpc~echo-grpc.svc.cluster.local');
    expect(b.node.metadata?.['GENERATOR']).toBe('grpc');
    expect(b.node.locality).toEqual({});
    expect(b.certificate_providers['default']).toMatchObject({
      plugin_name: 'file_watcher',
      file_watcher: {
        certificate_file: '/var/lib/istio/data/cert-chain.pem',
        private_key_file: '/var/lib/istio/data/key.pem',
        ca_certificate_file: '/var/lib/istio/data/root-cert.pem',
        refresh_interval: 900_000,
      },
    });
    expect(b.server_listener_resource_name_template).toBe('xds.istio.io/grpc/lds/inbound/%s');
    expect(b.client_default_listener_resource_name_template).toBe('%s');
    expect(Object.isFrozen(b.xds_servers[0])).toBe(true);
  });

  it('GRPC_XDS_BOOTSTRAP wins over GRPC_XDS_BOOTSTRAP_CONFIG, which is used alone', () => {
    const file = join(dir, 'a.json');
    writeFileSync(file, JSON.stringify(minimal));
    const other = { xds_servers: [{ server_uri: 'other:1', channel_creds: [{ type: 'insecure' }] }] };
    expect(loadBootstrapFromEnv({ GRPC_XDS_BOOTSTRAP: file, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(other) }).xds_servers[0]!.server_uri).toBe('localhost:15010');
    expect(loadBootstrapFromEnv({ GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(other) }).xds_servers[0]!.server_uri).toBe('other:1');
  });

  it('names both variables when neither is set', () => {
    const e = errorOf(() => loadBootstrapFromEnv({}));
    expect(e.message).toContain('GRPC_XDS_BOOTSTRAP');
    expect(e.message).toContain('GRPC_XDS_BOOTSTRAP_CONFIG');
  });
});

describe('bootstrap: fields', () => {
  it('uses the first supported channel_creds and skips unknown types', () => {
    const b = parseBootstrap({
      xds_servers: [{ server_uri: 'td:443', channel_creds: [{ type: 'sts' }, { type: 'google_default' }, { type: 'insecure' }] }],
    });
    expect(b.xds_servers[0]!.channel_creds).toEqual({ type: 'google_default' });
  });

  it('reads server features: ignore_resource_deletion and the delta_xds extension', () => {
    const b = parseBootstrap({
      xds_servers: [
        { server_uri: 'a:1', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', 'ignore_resource_deletion', 'delta_xds'] },
        { server_uri: 'b:1', channel_creds: [{ type: 'tls', config: { ca_certificate_file: '/ca.pem' } }] },
      ],
    });
    expect(b.xds_servers[0]).toMatchObject({ ignore_resource_deletion: true, delta_xds: true });
    expect(b.xds_servers[1]).toMatchObject({ ignore_resource_deletion: false, delta_xds: false, channel_creds: { type: 'tls', config: { ca_certificate_file: '/ca.pem' } } });
  });

  it('reads node locality, templates and authorities (gRFC A47)', () => {
    const b = parseBootstrap({
      ...minimal,
      node: { id: 'n', cluster: 'c', locality: { region: 'r', zone: 'z', sub_zone: 's' } },
      client_default_listener_resource_name_template: 'xdstp://td/envoy.config.listener.v3.Listener/%s',
      authorities: {
        td: { xds_servers: [{ server_uri: 'td:443', channel_creds: [{ type: 'google_default' }] }] },
        local: {},
        custom: { client_listener_resource_name_template: 'xdstp://custom/envoy.config.listener.v3.Listener/grpc/%s' },
      },
    });
    expect(b.node).toEqual({ id: 'n', cluster: 'c', locality: { region: 'r', zone: 'z', sub_zone: 's' } });
    expect(b.authorities['td']!.xds_servers[0]!.server_uri).toBe('td:443');
    expect(b.authorities['local']).toEqual({ xds_servers: [], client_listener_resource_name_template: 'xdstp://local/envoy.config.listener.v3.Listener/%s' });
    expect(b.authorities['custom']!.client_listener_resource_name_template).toBe('xdstp://custom/envoy.config.listener.v3.Listener/grpc/%s');
  });

  it('defaults a file_watcher refresh_interval to 10 minutes and keeps other plugins opaque', () => {
    const b = parseBootstrap({
      ...minimal,
      certificate_providers: {
        ca: { plugin_name: 'file_watcher', config: { ca_certificate_file: '/ca.pem' } },
        other: { plugin_name: 'meshcp', config: { anything: [1, 2] } },
      },
    });
    expect(b.certificate_providers['ca']!.file_watcher).toEqual({ ca_certificate_file: '/ca.pem', refresh_interval: 600_000 });
    expect(b.certificate_providers['other']).toEqual({ plugin_name: 'meshcp', config: { anything: [1, 2] } });
  });

  it('does not freeze or alias the caller object', () => {
    const input = structuredClone(istioAgentBootstrap);
    const b = parseBootstrap(input);
    expect(Object.isFrozen(input.node.metadata)).toBe(false);
    expect(b.node.metadata).not.toBe(input.node.metadata);
  });

  it('resolveBootstrap accepts a parsed bootstrap, an object, JSON text and a file path', () => {
    const parsed = parseBootstrap(minimal);
    expect(resolveBootstrap(parsed)).toBe(parsed);
    expect(resolveBootstrap(minimal).xds_servers[0]!.server_uri).toBe('localhost:15010');
    expect(resolveBootstrap(JSON.stringify(minimal)).xds_servers[0]!.server_uri).toBe('localhost:15010');
    const file = join(dir, 'b.json');
    writeFileSync(file, JSON.stringify(minimal));
    expect(resolveBootstrap(file).xds_servers[0]!.server_uri).toBe('localhost:15010');
  });
});

describe('bootstrap: errors name source, field and fix', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['missing xds_servers', {}, 'xds_servers', /required/],
    ['empty xds_servers', { xds_servers: [] }, 'xds_servers', /at least one/],
    ['server_uri not a string', { xds_servers: [{ server_uri: 5, channel_creds: [{ type: 'insecure' }] }] }, 'xds_servers[0].server_uri', /expected a gRPC target/],
    ['no channel_creds', { xds_servers: [{ server_uri: 'a:1' }] }, 'xds_servers[0].channel_creds', /insecure, tls, google_default/],
    ['unsupported channel_creds', { xds_servers: [{ server_uri: 'a:1', channel_creds: [{ type: 'sts' }] }] }, 'xds_servers[0].channel_creds', /no supported channel credential type among \[sts\]/],
    ['feature not a string', { xds_servers: [{ server_uri: 'a:1', channel_creds: [{ type: 'insecure' }], server_features: [1] }] }, 'xds_servers[0].server_features[0]', /expected a string/],
    ['node id not a string', { ...minimal, node: { id: 1 } }, 'node.id', /expected a string/],
    ['bad locality', { ...minimal, node: { locality: { zone: 3 } } }, 'node.locality.zone', /expected a string/],
    ['bad refresh_interval', { ...minimal, certificate_providers: { d: { plugin_name: 'file_watcher', config: { ca_certificate_file: '/c', refresh_interval: '15m' } } } }, 'certificate_providers.d.config.refresh_interval', /"600s"/],
    ['cert without key', { ...minimal, certificate_providers: { d: { plugin_name: 'file_watcher', config: { certificate_file: '/c' } } } }, 'certificate_providers.d.config', /set together/],
    ['bad authority template', { ...minimal, authorities: { a: { client_listener_resource_name_template: 'xdstp://b/x/%s' } } }, 'authorities.a.client_listener_resource_name_template', /xdstp:\/\/a\//],
  ];
  for (const [title, doc, path, reason] of cases) {
    it(title, () => {
      const e = errorOf(() => parseBootstrap(doc));
      expect(e.source).toBe('bootstrap object');
      expect(e.fieldPath).toBe(path);
      expect(e.message).toContain('bootstrap object');
      expect(e.message).toContain(`${path}: `);
      expect(e.message).toMatch(reason);
    });
  }

  it('names the file and the env var for a bad file', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ xds_servers: [{ server_uri: 'a:1', channel_creds: [] }] }));
    const e = errorOf(() => loadBootstrapFromEnv({ GRPC_XDS_BOOTSTRAP: file }));
    expect(e.message).toContain(file);
    expect(e.message).toContain('GRPC_XDS_BOOTSTRAP');
    expect(e.message).toContain('xds_servers[0].channel_creds');
  });

  it('names the env var for bad inline JSON, and a missing file', () => {
    expect(errorOf(() => loadBootstrapFromEnv({ GRPC_XDS_BOOTSTRAP_CONFIG: '{nope' })).message).toMatch(/GRPC_XDS_BOOTSTRAP_CONFIG: not valid JSON/);
    expect(errorOf(() => loadBootstrapFromEnv({ GRPC_XDS_BOOTSTRAP: join(dir, 'missing.json') })).message).toMatch(/missing\.json.*cannot read/);
  });
});

describe('bootstrap: properties', () => {
  it('arbitrary JSON never throws anything but BootstrapError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (doc) => {
        try {
          parseBootstrap(doc);
        } catch (error) {
          if (!(error instanceof BootstrapError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary text never throws anything but BootstrapError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          parseBootstrapJson(text, 'GRPC_XDS_BOOTSTRAP_CONFIG');
        } catch (error) {
          if (!(error instanceof BootstrapError)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('near-valid documents (mutated servers, nodes, providers) only throw BootstrapError', () => {
    const anyJson = fc.jsonValue({ maxDepth: 2 });
    const server = fc.record(
      { server_uri: fc.oneof(fc.string(), anyJson), channel_creds: fc.oneof(fc.array(fc.record({ type: fc.constantFrom('insecure', 'tls', 'x', 1), config: anyJson }, { requiredKeys: [] })), anyJson), server_features: fc.oneof(fc.array(fc.string()), anyJson) },
      { requiredKeys: [] },
    );
    const doc = fc.record(
      {
        xds_servers: fc.oneof(fc.array(server, { maxLength: 3 }), anyJson),
        node: fc.oneof(fc.record({ id: fc.oneof(fc.string(), anyJson), locality: anyJson, metadata: anyJson }, { requiredKeys: [] }), anyJson),
        certificate_providers: fc.oneof(fc.dictionary(fc.string(), fc.record({ plugin_name: fc.constantFrom('file_watcher', 'x'), config: fc.oneof(fc.record({ certificate_file: fc.string(), private_key_file: fc.string(), ca_certificate_file: fc.string(), refresh_interval: fc.oneof(fc.string(), anyJson) }, { requiredKeys: [] }), anyJson) })), anyJson),
        authorities: fc.oneof(fc.dictionary(fc.string(), fc.record({ xds_servers: fc.array(server, { maxLength: 2 }), client_listener_resource_name_template: fc.oneof(fc.string(), anyJson) }, { requiredKeys: [] })), anyJson),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(doc, (d) => {
        try {
          const b = parseBootstrap(d);
          expect(b.xds_servers.length).toBeGreaterThan(0);
        } catch (error) {
          if (!(error instanceof BootstrapError)) throw error;
          expect(error.message).toMatch(/^invalid xDS bootstrap from bootstrap object: /);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parseDurationString round-trips whole and fractional seconds', () => {
    expect(parseDurationString('900s')).toBe(900_000);
    expect(parseDurationString('1.5s')).toBe(1500);
    expect(parseDurationString('15m')).toBeUndefined();
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000 }), (ms) => parseDurationString(`${ms / 1000}s`) === ms || `${ms / 1000}`.includes('e')));
  });
});
