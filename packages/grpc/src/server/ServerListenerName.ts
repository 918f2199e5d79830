import { isIPv6 } from 'node:net';

/**
 * The `%s` of `server_listener_resource_name_template` for a bound address (gRFC A36): the IP the
 * server actually listens on and its actual port, IPv6 in brackets, e.g. `0.0.0.0:8080`,
 * `[::]:8080`, `127.0.0.1:50051`. A wildcard bind stays a wildcard, which is what istiod names its
 * inbound listeners after (`xds.istio.io/grpc/lds/inbound/0.0.0.0:8080`).
 */
export function listeningAddressText(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The Listener resource name for a bound address: the template with `%s` replaced. For `xdstp:`
 * templates the replacement is percent-encoded (gRFC A47), so `[`, `]` and other reserved
 * characters cannot break the resource name apart.
 */
export function serverListenerResourceName(template: string, addressText: string): string {
  const value = template.startsWith('xdstp:') ? percentEncode(addressText) : addressText;
  return template.replaceAll('%s', value);
}

function percentEncode(s: string): string {
  // RFC 3986 path characters stay as is (unreserved, sub-delims, ':' and '@').
  return s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Splits a grpc-js style bind target (`host:port`, `[v6]:port`, `:port`, optional `dns:`/`ipv4:`/`ipv6:` scheme). */
export function parseBindTarget(target: string): { readonly host: string; readonly port: number } {
  const t = target.replace(/^(dns|ipv4|ipv6):(\/\/\/)?/, '');
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(t);
  if (m === null) throw new Error(`cannot bind to ${JSON.stringify(target)}: expected host:port`);
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`cannot bind to ${JSON.stringify(target)}: invalid port`);
  const host = m[1] ?? m[2] ?? '';
  // grpc-js binds an empty host on every interface.
  return { host: host === '' ? '::' : host, port };
}
