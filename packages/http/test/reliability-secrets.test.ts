import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @meshlet/http does not depend on grpc-js; the AdsServer's own copy builds its TLS credentials.
import * as grpc from '../../control-plane/node_modules/@grpc/grpc-js/build/src/index.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { AdsServer } from '@meshlet/control-plane';
import { CertificateProviderRegistry, DevCertificateAuthority, meshDebugSnapshot, redactedConfigDump } from '@meshlet/core';
import { createMeshDispatcher } from '@meshlet/http';
import { ClusterResource, XdsClient, encodeAny, type Logger } from '@meshlet/xds-client';
import { startBackend } from './helpers/backends.js';
import { eventually } from './helpers/harness.js';
import { figures, meshSnapshot, NODE_ID, TARGET, URL_ } from './helpers/reliabilityMesh.js';

/**
 * Secrets never leak: an XdsClient over TLS with a jwt_token_file call credential (istiod's 15012
 * shape), a bootstrap with a file_watcher certificate provider (the workload key), and a cluster
 * whose UpstreamTlsContext carries an inline private key. Everything a Logger receives (debug
 * included), configDump() (raw bytes searched too), redactedConfigDump, meshDebugSnapshot() JSON,
 * local-reply bodies and thrown errors of failing requests are searched for the key bodies and
 * the JWT: none may contain them.
 *
 * RBAC default-deny and policy ordering vs Envoy are covered in packages/core/test/rbac
 * (engine) and packages/grpc/test/server-routing-rbac.test.ts (servers).
 */
const dir = mkdtempSync(join(tmpdir(), 'meshlet-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ca = DevCertificateAuthority.create({ trustDomain: 'cluster.local' });
const serving = ca.issue({ subjectAltNames: [{ type: 'DNS', value: 'istiod.istio-system.svc' }] });
const workload = ca.issueWorkload({ namespace: 'default', serviceAccount: 'app' });
const inline = ca.issueWorkload({ namespace: 'default', serviceAccount: 'inline' });
const JWT = (() => {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ aud: ['istio-ca'], sub: 'system:serviceaccount:default:app', exp: Math.floor(Date.now() / 1000) + 3600 })}.${Buffer.from('signature-not-checked').toString('base64url')}`;
})();
const files = { root: join(dir, 'root-cert.pem'), cert: join(dir, 'cert-chain.pem'), key: join(dir, 'key.pem'), token: join(dir, 'istio-token') };
writeFileSync(files.root, ca.certificatePem);
writeFileSync(files.cert, workload.certChain);
writeFileSync(files.key, workload.privateKey, { mode: 0o600 });
writeFileSync(files.token, JWT, { mode: 0o600 });

/** Distinctive pieces of each secret: PEM body lines (base64) and the JWT's three parts. */
function needles(): Record<string, string> {
  const body = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const out: Record<string, string> = {};
  body(workload.privateKey).forEach((l, i) => l.length >= 24 && (out[`workload key line ${i}`] = l));
  body(inline.privateKey).forEach((l, i) => l.length >= 24 && (out[`inline key line ${i}`] = l));
  JWT.split('.').forEach((p, i) => (out[`jwt part ${i}`] = p));
  out['jwt'] = JWT;
  return out;
}

function leaks(haystack: string): string[] {
  return Object.entries(needles())
    .filter(([, n]) => haystack.includes(n))
    .map(([k]) => k);
}

/** JSON with bytes shown both as base64 and as latin1 text, so a key inside raw protobuf is found either way. */
function dumpText(v: unknown): string {
  // Walked by hand: JSON.stringify would call Buffer#toJSON (a list of numbers) before any replacer.
  const seen = new WeakSet<object>();
  const walk = (x: unknown): unknown => {
    if (x instanceof Uint8Array) return `${Buffer.from(x).toString('base64')} ${Buffer.from(x).toString('latin1')}`;
    if (typeof x === 'bigint') return String(x);
    if (x instanceof Error) return { message: x.message, stack: x.stack, cause: walk(x.cause) };
    if (typeof x !== 'object' || x === null) return x;
    if (seen.has(x)) return '[cycle]';
    seen.add(x);
    if (Array.isArray(x)) return x.map(walk);
    return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
  };
  return JSON.stringify(walk(v));
}

function tlsCluster(name: string, commonTlsContext: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} } },
    connect_timeout: { seconds: 1 },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: encodeAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', { common_tls_context: commonTlsContext, sni: 'reviews.test' }),
    },
  };
}

async function secureAds() {
  const authorizations: string[] = [];
  const server = new AdsServer({ onStreamMetadata: (md) => authorizations.push(...md.get('authorization').map(String)) });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certificatePem), [{ cert_chain: Buffer.from(serving.certChain), private_key: Buffer.from(serving.privateKey) }], false);
  const { port } = await server.listen(0, '127.0.0.1', creds);
  cleanups.push(() => server.close());
  return { server, port, authorizations };
}

function bootstrap(port: number) {
  return {
    xds_servers: [
      {
        server_uri: `127.0.0.1:${port}`,
        channel_creds: [{ type: 'tls', config: { ca_certificate_file: files.root } }],
        call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: files.token } }],
        server_features: ['xds_v3'],
      },
    ],
    node: { id: NODE_ID, cluster: 'app', metadata: { GENERATOR: 'grpc' } },
    certificate_providers: {
      default: { plugin_name: 'file_watcher', config: { certificate_file: files.cert, private_key_file: files.key, ca_certificate_file: files.root, refresh_interval: '600s' } },
    },
  };
}

const XDS_OPTIONS = {
  doesNotExistTimeoutMs: 1500,
  backoff: { initialMs: 40, multiplier: 2, jitter: 0, maxMs: 400 },
  channelOptions: { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.initial_reconnect_backoff_ms': 20, 'grpc.max_reconnect_backoff_ms': 100 },
};

function recordingLogger(lines: string[]): Logger {
  const rec = (level: string) => (m: string, f?: Record<string, unknown>) => {
    lines.push(`${level} ${m} ${dumpText(f ?? {})}`);
  };
  return { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

let rawDumpLeaks: string[] = ['not measured'];

describe('secrets never appear in logs, config dumps or errors', () => {
  it('private keys (certificate provider files, inline TLS context) and the xDS JWT', async () => {
    const plain = await startBackend('plain');
    cleanups.push(() => plain.close());
    const { server, port, authorizations } = await secureAds();
    const snapshot = meshSnapshot({ cluster: 'plain', ports: [plain.port], others: [{ name: 'inline-key', ports: [plain.port] }, { name: 'mtls', ports: [plain.port] }] });
    const routes = snapshot.routes!.map((rc) => ({
      ...rc,
      virtual_hosts: (rc as { virtual_hosts: Record<string, unknown>[] }).virtual_hosts.map((vh) => ({
        ...vh,
        routes: [
          { name: 'to-inline', match: { prefix: '/inline' }, route: { cluster: 'inline-key' } },
          { name: 'to-mtls', match: { prefix: '/mtls' }, route: { cluster: 'mtls' } },
          { name: 'default', match: { prefix: '/' }, route: { cluster: 'plain' } },
        ],
      })),
    }));
    const inlineCtx = {
      tls_certificates: [{ certificate_chain: { inline_string: inline.certChain }, private_key: { inline_string: inline.privateKey } }],
      validation_context: { trusted_ca: { inline_string: ca.certificatePem } },
    };
    const clusters = [
      ...snapshot.clusters!.filter((c) => (c as { name: string }).name === 'plain'),
      tlsCluster('inline-key', inlineCtx),
      tlsCluster('mtls', {
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        combined_validation_context: {
          default_validation_context: { match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }] },
          validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
        },
      }),
      // Carries the inline key AND an invalid field: NACKed; the NACK and error_state must not echo the key.
      { ...tlsCluster('nacked', inlineCtx), outlier_detection: { max_ejection_percent: { value: 200 } } },
    ];
    server.setSnapshot({ ...snapshot, routes, clusters, endpoints: [...snapshot.endpoints!, { cluster_name: 'nacked', endpoints: [] }] });

    const lines: string[] = [];
    const client = new XdsClient({ bootstrap: bootstrap(port), logger: recordingLogger(lines), ...XDS_OPTIONS });
    const providers = CertificateProviderRegistry.fromBootstrap(client.bootstrap.certificate_providers);
    const dispatcher = await createMeshDispatcher({ source: client, certificateProviders: providers });
    // Watched directly (no route uses it, so no request waits for it): its NACK reaches the logger and the dump.
    const nackWatch = client.watch(ClusterResource, 'nacked', { onResource() {} });
    cleanups.push(async () => {
      nackWatch.dispose();
      await dispatcher.destroy();
      client.close();
      providers.close();
    });

    const outputs: string[] = [];
    const errors: string[] = [];
    for (const path of ['/', '/inline', '/mtls']) {
      for (const localReplies of ['response', 'error'] as const) {

        try {
          const res = await request(`${URL_}${path}`, { dispatcher, headersTimeout: 3000 });
          outputs.push(`${path} ${res.statusCode} ${String(res.headers['x-meshlet-response-flags'] ?? '')} ${await res.body.text()}`);
        } catch (e) {
          errors.push(`${path} ${String((e as Error).message)} ${String((e as Error).stack)} ${String(((e as Error).cause as Error | undefined)?.message ?? '')}`);
        }
        if (localReplies === 'error') {
          // The same paths with localReplies: 'error' (MeshCallError thrown to the caller).
          const d2 = await createMeshDispatcher({ source: client, certificateProviders: providers, localReplies: 'error' });
          try {
            const res = await request(`${URL_}${path}`, { dispatcher: d2, headersTimeout: 3000 });
            outputs.push(`${path} ${res.statusCode} ${await res.body.text()}`);
          } catch (e) {
            const err = e as Error & { attempts?: unknown; cause?: unknown };
            errors.push(`${path} ${err.message} ${String(err.stack)} ${dumpText({ ...err, cause: String((err.cause as Error | undefined)?.message ?? '') })}`);
          } finally {
            await d2.destroy();
          }
        }
      }
    }
    const raw = client.configDump();
    const texts: Record<string, string> = {
      logger: lines.join('\n'),
      'configDump() raw': dumpText(raw),
      redactedConfigDump: JSON.stringify(redactedConfigDump(raw)),
      meshDebugSnapshot: JSON.stringify(meshDebugSnapshot(dispatcher.mesh, client)),
      'responses (local replies)': outputs.join('\n'),
      'errors thrown': errors.join('\n'),
    };
    // The test must have exercised what it claims: the JWT was sent, the NACK logged, each path answered.
    expect(authorizations[0]).toBe(`Bearer ${JWT}`);
    expect(texts.logger).toMatch(/nacked/);
    expect(outputs.find((o) => o.startsWith('/ 200'))).toBeDefined();
    expect(outputs.some((o) => o.startsWith('/mtls 503'))).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    expect(texts.redactedConfigDump).toContain('[redacted]');

    const found: Record<string, string[]> = {};
    for (const [where, text] of Object.entries(texts)) found[where] = leaks(text);
    figures('security: secrets in logs, dumps and errors', {
      searched: Object.fromEntries(Object.entries(texts).map(([k, v]) => [k, v.length])),
      needles: Object.keys(needles()).length,
      leaks: found,
      responses: outputs.map((o) => o.slice(0, 160)),
    });
    // Known gap (RELIABILITY.md, "not yet"): the raw configDump() keeps each resource's Any bytes as
    // received, as gRPC's CSDS does, so an inline private_key sent by the control plane is in them.
    // Everything meant for people (redactedConfigDump, meshDebugSnapshot, logs, errors) is clean.
    const { 'configDump() raw': rawLeaks, ...rest } = found;
    expect(rest).toEqual(Object.fromEntries(Object.keys(rest).map((k) => [k, []])));
    expect(rawLeaks.every((k) => k.startsWith('inline key'))).toBe(true); // never the workload key or the JWT
    rawDumpLeaks = rawLeaks;
  });

  it('configDump() (served by CSDS) carries no inline private key: secrets are redacted in the dumped resources', () => {
    expect(rawDumpLeaks).toEqual([]);
  });
});

describe('bootstrap certificate_providers', () => {
  it('createMeshDispatcher({ bootstrap }) uses the bootstrap certificate_providers for mTLS clusters', async () => {
    const serverCert = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });
    const https: Server = createServer({ cert: serverCert.certChain, key: serverCert.privateKey, ca: serverCert.caBundle, requestCert: true, rejectUnauthorized: true }, (_q, res) => res.writeHead(200).end('secure'));
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (https.closeAllConnections(), https.close(() => r()))));
    const { server, port } = await secureAds();
    const snapshot = meshSnapshot({ cluster: 'mtls', ports: [(https.address() as AddressInfo).port] });
    server.setSnapshot({
      ...snapshot,
      clusters: [
        tlsCluster('mtls', {
          tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
          combined_validation_context: {
            default_validation_context: { match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }] },
            validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
          },
        }),
      ],
    });
    const lines: string[] = [];
    const dispatcher = await createMeshDispatcher({ bootstrap: bootstrap(port), xds: { ...XDS_OPTIONS, logger: recordingLogger(lines) } });
    cleanups.push(() => dispatcher.destroy());
    // The file_watcher provider starts with the dispatcher, and a connection opened before its first
    // read waits for it (certificate-first-load.test.ts): the first request already succeeds.
    const seen: string[] = [];
    await eventually(async () => {
      const res = await request(`http://${TARGET}/`, { dispatcher });
      const body = await res.body.text();
      seen.push(`${res.statusCode} ${body.slice(0, 200)}`);
      return res.statusCode === 200 && body === 'secure';
    }, 3000);
    expect(seen).toEqual(['200 secure']);
    figures('security: createMeshDispatcher({ bootstrap }) mTLS via bootstrap certificate_providers', { attempts: seen.length, first: seen[0] });
  });
});
