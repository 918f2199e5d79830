import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Mesh } from '@meshlet/core';
import { StaticResourceSource } from '@meshlet/xds-client';
import { meshClientOptions, type MeshChannelOptions } from '@meshlet/grpc';
import { startBackend } from './helpers/backends.js';
import { EchoClientConstructor, unary } from './helpers/echoService.js';
import { applyMesh } from '../../http/test/helpers/meshConfig.js';

const TARGET = 'channelz.test:50051';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** The targets of the channels grpc-js's channelz service lists. */
async function channelzTargets(): Promise<string[]> {
  const handlers = grpc.getChannelzHandlers();
  const response = await new Promise<{ channel: Array<{ data: { target: string } }> }>((resolve, reject) =>
    handlers.GetTopChannels({ request: { start_channel_id: 0, max_results: 10_000 } } as never, ((err: Error | null, value: never) =>
      err ? reject(err) : resolve(value)) as never),
  );
  return response.channel.map((c) => c.data.target);
}

/** One call through a MeshChannel to a real backend; the endpoint channel's target. */
async function callOnce(options: Omit<MeshChannelOptions, 'mesh'>): Promise<string> {
  const backend = await startBackend('b0');
  const source = new StaticResourceSource();
  applyMesh(source, { target: TARGET, clusters: [{ name: 'c0', ports: [backend.port] }] });
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds:///${TARGET}`, options));
  cleanups.push(async () => {
    client.close();
    mesh.close();
    await backend.close();
  });
  expect((await unary(client)).ok).toBe(true);
  return `ipv4:127.0.0.1:${backend.port}`;
}

describe('channelz on the per-endpoint channels', () => {
  it('is off by default: the MeshChannel reports no channelz data, so its internal channels are not listed either', async () => {
    const endpoint = await callOnce({});
    expect(await channelzTargets()).not.toContain(endpoint);
  });

  it('is on when channelOptions ask for it', async () => {
    const endpoint = await callOnce({ channelOptions: { 'grpc.enable_channelz': 1 } });
    expect(await channelzTargets()).toContain(endpoint);
  });
});
