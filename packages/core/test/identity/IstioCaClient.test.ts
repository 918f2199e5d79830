import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as Protobuf from '../../../xds-client/node_modules/protobufjs/index.js';
import type * as GrpcJs from '../../../grpc/node_modules/@grpc/grpc-js/build/src/index.js';
import {
  DevCertificateAuthority,
  IstioCaClient,
  decodeIstioCertificateResponse,
  encodeIstioCertificateRequest,
  type CertificateMaterial,
  type IssuedCertificate,
} from '../../src/identity/index.js';

// @meshlet/core has no gRPC or protobuf runtime dependency; the fake CA borrows the ones other
// workspace packages install, so the client is checked against independent implementations.
const requireFromXds = createRequire(new URL('../../../xds-client/package.json', import.meta.url));
const requireFromGrpc = createRequire(new URL('../../../grpc/package.json', import.meta.url));
const protobuf = requireFromXds('protobufjs') as typeof Protobuf;
const grpc = requireFromGrpc('@grpc/grpc-js') as typeof GrpcJs;

/** The ca.proto messages, declared with protobufjs reflection from the field numbers in istio/api. */
function istioCaSchema() {
  const root = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto') as Protobuf.INamespace);
  const ns = root.define('istio.v1.auth');
  ns.add(
    new protobuf.Type('IstioCertificateRequest')
      .add(new protobuf.Field('csr', 1, 'string'))
      .add(new protobuf.Field('validity_duration', 3, 'int64'))
      .add(new protobuf.Field('metadata', 4, 'google.protobuf.Struct')),
  );
  ns.add(new protobuf.Type('IstioCertificateResponse').add(new protobuf.Field('cert_chain', 1, 'string', 'repeated')));
  root.resolveAll();
  return { Request: root.lookupType('istio.v1.auth.IstioCertificateRequest'), Response: root.lookupType('istio.v1.auth.IstioCertificateResponse') };
}

interface SeenRequest {
  authorization: string | undefined;
  clusterId: string | undefined;
  validitySeconds: number;
  metadata: unknown;
}

let ca: DevCertificateAuthority;
let istiodCert: IssuedCertificate;
let dir: string;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  ca = DevCertificateAuthority.create();
  istiodCert = ca.issue({ subjectAltNames: [{ type: 'DNS', value: 'istiod.istio-system.svc' }] });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlet-istioca-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

/** A fake istiod CA: a real grpc-js server over TLS that checks the bearer token and signs with the DevCA. */
async function startFakeIstiod(opts: { token: string; failFirst?: number; notBeforeNow?: boolean }) {
  const { Request, Response } = istioCaSchema();
  const seen: SeenRequest[] = [];
  let failuresLeft = opts.failFirst ?? 0;
  const server = new grpc.Server();
  server.addService(
    {
      CreateCertificate: {
        path: '/istio.v1.auth.IstioCertificateService/CreateCertificate',
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: unknown) => Buffer.from(Request.encode(Request.fromObject(v as object)).finish()),
        requestDeserialize: (b: Buffer) => Request.toObject(Request.decode(b), { longs: Number }),
        responseSerialize: (v: unknown) => Buffer.from(Response.encode(Response.fromObject(v as object)).finish()),
        responseDeserialize: (b: Buffer) => Response.toObject(Response.decode(b)),
      },
    },
    {
      CreateCertificate: (call: GrpcJs.ServerUnaryCall<{ csr: string; validity_duration: number; metadata?: unknown }, unknown>, callback: GrpcJs.sendUnaryData<unknown>) => {
        const auth = call.metadata.get('authorization')[0]?.toString();
        seen.push({ authorization: auth, clusterId: call.metadata.get('clusterid')[0]?.toString(), validitySeconds: call.request.validity_duration, metadata: call.request.metadata });
        if (failuresLeft > 0) {
          failuresLeft--;
          callback({ code: grpc.status.UNAVAILABLE, details: 'CA is warming up' });
          return;
        }
        if (auth !== `Bearer ${opts.token}`) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'token rejected' });
          return;
        }
        try {
          const leaf = ca.signCsr(call.request.csr, {
            validityMs: call.request.validity_duration * 1000,
            ...(opts.notBeforeNow ? { notBefore: new Date() } : {}),
            allowedSpiffeIds: ['spiffe://cluster.local/ns/default/sa/productpage'],
          });
          callback(null, { cert_chain: [leaf, ca.certificatePem] });
        } catch (err) {
          callback({ code: grpc.status.PERMISSION_DENIED, details: (err as Error).message });
        }
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(istiodCert.privateKey), cert_chain: Buffer.from(istiodCert.certChain) }], false), (err: Error | null, p: number) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return { port, seen };
}

async function client(port: number, extra: Partial<ConstructorParameters<typeof IstioCaClient>[0]> = {}): Promise<IstioCaClient> {
  const tokenPath = join(dir, 'istio-token');
  await writeFile(tokenPath, 'good-token\n');
  const c = new IstioCaClient({
    address: `127.0.0.1:${port}`,
    serverName: 'istiod.istio-system.svc',
    caCertificate: ca.certificatePem,
    tokenPath,
    namespace: 'default',
    serviceAccount: 'productpage',
    clusterId: 'Kubernetes',
    backoff: { initialMs: 20, maxMs: 50 },
    ...extra,
  });
  cleanups.push(() => c.close());
  return c;
}

function nextUpdate(c: IstioCaClient): Promise<CertificateMaterial> {
  return new Promise((resolve) => {
    const d = c.onUpdate((m) => {
      d.dispose();
      resolve(m);
    });
  });
}

describe('IstioCaClient', () => {
  it('gets a SPIFFE workload certificate from the CA with the bearer token and ClusterID', async () => {
    const istiod = await startFakeIstiod({ token: 'good-token' });
    const c = await client(istiod.port, { validityMs: 3600_000 });
    const material = await c.ready();
    const leaf = new X509Certificate(material.certChain!);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/default/sa/productpage');
    expect(leaf.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
    expect(material.caBundle).toBe(ca.certificatePem);
    expect(istiod.seen).toEqual([{ authorization: 'Bearer good-token', clusterId: 'Kubernetes', validitySeconds: 3600, metadata: { fields: { ClusterID: { stringValue: 'Kubernetes' } } } }]);
  });

  it('rotates at the configured fraction of the certificate lifetime', async () => {
    const istiod = await startFakeIstiod({ token: 'good-token', notBeforeNow: true });
    const c = await client(istiod.port, { validityMs: 2000, rotateAtFraction: 0.25 });
    const first = await c.ready();
    const second = await nextUpdate(c);
    expect(new X509Certificate(second.certChain!).serialNumber).not.toBe(new X509Certificate(first.certChain!).serialNumber);
    expect(second.privateKey).not.toBe(first.privateKey); // a fresh key per certificate
    expect(istiod.seen.length).toBeGreaterThanOrEqual(2);
  });

  it('retries CA failures with backoff, reporting each and keeping no stale state', async () => {
    const istiod = await startFakeIstiod({ token: 'good-token', failFirst: 2 });
    const c = await client(istiod.port);
    const errors: string[] = [];
    c.onError((e) => errors.push(e.message));
    const material = await c.ready();
    expect(material.certChain).toBeDefined();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^certificate provider "default" \(Istio CA 127\.0\.0\.1:\d+\): \/istio\.v1\.auth\.IstioCertificateService\/CreateCertificate: grpc-status 14: CA is warming up$/);
    expect(istiod.seen).toHaveLength(3);
  });

  it('reports a rejected token and recovers once the token file is rotated', async () => {
    const istiod = await startFakeIstiod({ token: 'rotated-token' });
    const c = await client(istiod.port);
    const firstError = await new Promise<Error>((resolve) => c.onError(resolve));
    expect(firstError.message).toMatch(/grpc-status 16: token rejected/);
    expect(c.current()).toBeUndefined();
    await writeFile(join(dir, 'istio-token'), 'rotated-token');
    const material = await c.ready();
    expect(new X509Certificate(material.certChain!).subjectAltName).toContain('sa/productpage');
  });

  it('refuses an istiod whose certificate does not verify', async () => {
    const istiod = await startFakeIstiod({ token: 'good-token' });
    const c = await client(istiod.port, { caCertificate: DevCertificateAuthority.create().certificatePem });
    const err = await new Promise<Error>((resolve) => c.onError(resolve));
    expect(err.message).toMatch(/unable to verify the first certificate/);
    expect(c.current()).toBeUndefined();
  });
});

describe('Istio CA messages', () => {
  it('encode and decode like protobufjs does for the ca.proto schema', () => {
    const { Request, Response } = istioCaSchema();
    const bytes = encodeIstioCertificateRequest({ csr: 'PEM', validity_duration: 86400, metadata: { ClusterID: 'c1', n: 1.5, b: true } });
    expect(Request.toObject(Request.decode(bytes), { longs: Number })).toEqual({
      csr: 'PEM',
      validity_duration: 86400,
      metadata: { fields: { ClusterID: { stringValue: 'c1' }, n: { numberValue: 1.5 }, b: { boolValue: true } } },
    });
    const response = Response.encode(Response.fromObject({ cert_chain: ['a', 'b'] })).finish();
    expect(decodeIstioCertificateResponse(response)).toEqual({ cert_chain: ['a', 'b'] });
  });
});
