import * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { Mesh } from '@meshlet/core';
import { StaticResourceSource } from '@meshlet/xds-client';
import { meshClientOptions } from '@meshlet/grpc';
import { startBackend, type GrpcBackend } from './backends.js';
import { EchoClientConstructor, type EchoClient } from './echoService.js';
import { applyMesh, type MeshSpec } from '../../../http/test/helpers/meshConfig.js';

export interface MeshSetup {
  readonly backends: GrpcBackend[];
  readonly source: StaticResourceSource;
  readonly client: EchoClient;
}

export type MeshSetupFn = (n: number, spec: (ports: number[]) => Omit<MeshSpec, 'target'>) => Promise<MeshSetup>;

/**
 * For a test file: a function making `n` echo backends, a Mesh over a StaticResourceSource holding
 * `spec` for `target`, and a client through a MeshChannel with default options (no observer or
 * metrics); all of it is closed after each test.
 */
export function meshSetups(target: string): MeshSetupFn {
  let cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
  return async (n, spec) => {
    const backends = await Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`)));
    const source = new StaticResourceSource();
    applyMesh(source, { target, ...spec(backends.map((b) => b.port)) });
    const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
    const client = new EchoClientConstructor(`xds:///${target}`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds:///${target}`));
    cleanups.push(async () => {
      client.close();
      mesh.close();
      await Promise.all(backends.map((b) => b.close()));
    });
    return { backends, source, client };
  };
}
