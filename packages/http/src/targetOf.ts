/**
 * The listener name for a request origin: `host:port`, as istiod names outbound
 * listeners for proxyless clients (`reviews.default.svc.cluster.local:9080`).
 * The port defaults from the scheme, so `http://reviews` is `reviews:80`.
 * Returns undefined for origins that cannot name a mesh target.
 */
export function targetOf(origin: string | URL | undefined): { target: string; host: string; port: number; secure: boolean } | undefined {
  if (!origin) return undefined;
  let url: URL;
  try {
    url = typeof origin === 'string' ? new URL(origin) : origin;
  } catch {
    return undefined;
  }
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') return undefined;
  const host = url.hostname.toLowerCase();
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  return { target: `${host}:${port}`, host, port, secure };
}
