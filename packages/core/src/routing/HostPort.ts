const DIGITS = /^[0-9]+$/;

/**
 * Splits an authority into host and port (`host:port`, `[v6]:port`). port is '' when there is none;
 * a non-numeric "port" is not one (the whole authority is the host). An unbracketed IPv6 literal
 * (several colons) has no port.
 */
export function splitHostPort(authority: string): { host: string; port: string } {
  const colon = authority.lastIndexOf(':');
  if (colon < 0 || authority.indexOf(']', colon) >= 0) return { host: authority, port: '' };
  if (!authority.startsWith('[') && authority.indexOf(':') !== colon) return { host: authority, port: '' };
  const port = authority.slice(colon + 1);
  if (!DIGITS.test(port)) return { host: authority, port: '' };
  return { host: authority.slice(0, colon), port };
}
