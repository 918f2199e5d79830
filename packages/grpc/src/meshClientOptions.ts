import type { ClientOptions } from '@grpc/grpc-js';
import type { Mesh } from '@meshlet/core/client';
import { MeshChannel, type MeshChannelOptions } from './MeshChannel.js';

/**
 * Client options that route a grpc-js Client (generated or generic) through the mesh:
 * `new GreeterClient(target, creds, meshClientOptions(mesh, target))`. Each call makes a
 * new MeshChannel, owned and closed by that client. The credentials passed to the client
 * constructor are not used by grpc-js when a channel override is given, so pass them here
 * for the endpoint channels.
 */
export function meshClientOptions(
  mesh: Mesh,
  target: string,
  options: Omit<MeshChannelOptions, 'mesh'> & { readonly clientOptions?: ClientOptions } = {},
): ClientOptions & { channelOverride: MeshChannel } {
  const { clientOptions, ...channelOptions } = options;
  return { ...clientOptions, channelOverride: new MeshChannel(target, { ...channelOptions, mesh }) };
}
