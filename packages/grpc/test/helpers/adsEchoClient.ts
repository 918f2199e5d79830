import * as grpc from '@grpc/grpc-js';
import { Mesh } from '@meshlet/core';
import { XdsClient } from '@meshlet/xds-client';
import type { AdsServer } from '@meshlet/control-plane';
import { meshClientOptions } from '@meshlet/grpc';
import { startBackend, type GrpcBackend } from './backends.js';
import { EchoClientConstructor, type EchoClient } from './echoService.js';
import { FAST_XDS, TARGET, bootstrapFor, meshSnapshot, startAds } from '../../../http/test/helpers/reliabilityMesh.js';

/** meshSnapshot's resources as objects a test may edit. */
export interface EchoMesh {
  listeners: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  clusters: Record<string, unknown>[];
  endpoints: Record<string, unknown>[];
}

export interface AdsEchoClient {
  readonly client: EchoClient;
  readonly backend: GrpcBackend;
  readonly ads: { server: AdsServer; port: number };
  /** The istiod-shaped mesh for the backend (cluster c0 on TARGET), as served when `first` is the identity. */
  readonly good: EchoMesh;
}

/**
 * One echo backend, an AdsServer serving `first(good)` as version v1, and a Meshlet gRPC client for
 * TARGET over a real ADS stream to it. `cleanups` gets what closes them all.
 */
export async function adsEchoClient(
  cleanups: Array<() => Promise<void> | void>,
  first: (good: EchoMesh) => object = (good) => good,
  options: { resolveTimeoutMs?: number; hcm?: Record<string, unknown> } = {},
): Promise<AdsEchoClient> {
  const backend = await startBackend('b0');
  const ads = await startAds();
  const good = meshSnapshot({ cluster: 'c0', ports: [backend.port], ...(options.hcm ? { hcm: options.hcm } : {}) }) as EchoMesh;
  ads.server.setSnapshot(first(good), { version: 'v1' });
  const xds = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([ads.port]) });
  const mesh = await Mesh.create({ source: xds, ...(options.resolveTimeoutMs !== undefined ? { resolveTimeoutMs: options.resolveTimeoutMs } : {}) });
  const client: EchoClient = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds:///${TARGET}`));
  cleanups.push(async () => {
    client.close();
    mesh.close();
    await xds.close();
    await ads.server.close();
    await backend.close();
  });
  return { client, backend, ads, good };
}
