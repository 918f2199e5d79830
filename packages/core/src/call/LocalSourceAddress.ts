import { networkInterfaces } from 'node:os';

let cached: string | undefined;

/**
 * The address a client-side mesh's requests come from, for a hash policy's
 * `connection_properties.source_ip` when the caller passes none. Behind a sidecar, Envoy hashes the
 * downstream connection's remote address: the pod's own IP, the same for every request the app
 * makes, so `consistentHash: { useSourceIp: true }` keeps a pod on one upstream host. In process
 * that is this host's first external address (IPv4 first), found once; 127.0.0.1 when it has none.
 */
export function localSourceAddress(): string {
  if (cached !== undefined) return cached;
  let v6: string | undefined;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') return (cached = a.address);
      // Link-local IPv6 (fe80::/10) needs a scope to mean anything: not an identity.
      if (v6 === undefined && !a.address.toLowerCase().startsWith('fe80:')) v6 = a.address;
    }
  }
  return (cached = v6 ?? '127.0.0.1');
}
