import { Mesh } from '@meshlet/core';
import { XdsClient, readBootstrapFile, silentLogger, type ResourceSource } from '@meshlet/xds-client';
import { MeshFileSource } from '../meshfile/index.js';
import { buildProxyConfigView } from './buildProxyConfigView.js';
import type { ProxyConfigView } from './ProxyConfigView.js';

/** The target did not resolve (or not in time); the message says why and where config came from. */
export class ProxyConfigError extends Error {
  override readonly name = 'ProxyConfigError';
}

export interface ResolveProxyConfigOptions {
  /** The listener name, `host:port` as istiod names outbound listeners. */
  readonly target: string;
  /** How long to wait for the whole LDS -> RDS -> CDS -> EDS chain. */
  readonly timeoutMs: number;
}

/** Resolves `target` through a Mesh over `source`, always closing the Mesh. */
async function resolveWith(source: ResourceSource, label: string, options: ResolveProxyConfigOptions, lastError: () => string | undefined): Promise<ProxyConfigView> {
  let nacked: string | undefined;
  const mesh = await Mesh.create({ source, resolveTimeoutMs: options.timeoutMs, onError: (_t, e) => void (nacked = e.message) });
  try {
    const state = await mesh.resolve(options.target, options.timeoutMs);
    if (state.kind === 'ready') return buildProxyConfigView(state.snapshot, label);
    const why = state.kind === 'missing' ? state.reason : `its config did not arrive within ${options.timeoutMs} ms`;
    const cause = lastError() ?? nacked;
    throw new ProxyConfigError(`target ${options.target} does not resolve from ${label}: ${why}${cause ? ` (last error: ${cause})` : ''}`);
  } finally {
    mesh.close();
  }
}

/**
 * Connects to the xDS server of a bootstrap file as the node it names, exactly as a Meshlet
 * process would (same channel and call credentials), and resolves the target. The does-not-
 * exist timer is set to the wait, so an unknown target reports "no listener" rather than a
 * bare timeout; stream failures are reported as the cause.
 */
export async function resolveProxyConfigFromXds(options: ResolveProxyConfigOptions & { readonly bootstrapFile: string }): Promise<ProxyConfigView> {
  const bootstrap = readBootstrapFile(options.bootstrapFile);
  // The CLI reports failures itself; the client's own console warnings would repeat them.
  const client = new XdsClient({ bootstrap, doesNotExistTimeoutMs: options.timeoutMs, logger: silentLogger });
  let lastError: string | undefined;
  let connected = false;
  client.on('connected', () => void (connected = true));
  client.on('disconnected', (e) => void (lastError = e.error.message));
  const server = bootstrap.xds_servers[0]!.server_uri;
  const label = `xDS server ${server} as node ${bootstrap.node.id || '(no id)'}`;
  try {
    // Leave room for the does-not-exist verdict to land before the overall wait ends.
    return await resolveWith(client, label, { ...options, timeoutMs: options.timeoutMs + 500 }, () => (connected ? undefined : lastError));
  } finally {
    client.close();
  }
}

/** Resolves the target from a mesh.yaml, in process, as the embedded default does. */
export async function resolveProxyConfigFromMeshFile(options: ResolveProxyConfigOptions & { readonly meshFile: string }): Promise<ProxyConfigView> {
  const source = new MeshFileSource(options.meshFile, { watch: false });
  try {
    return await resolveWith(source, `mesh file ${source.path}`, options, () => undefined);
  } finally {
    source.close();
  }
}
