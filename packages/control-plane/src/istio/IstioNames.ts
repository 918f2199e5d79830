/**
 * Resource names exactly as istiod builds them, so that Meshlet's embedded
 * config, istiod and `istioctl proxy-config` all speak about the same names.
 */

/** Cluster name: `outbound|PORT|SUBSET|HOST` (istio model.BuildSubsetKey; subset empty for the whole service). */
export function clusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

/**
 * The grpc generator names an outbound listener `HOST:PORT` (the target a gRPC
 * client dials as `xds:///HOST:PORT`) and points its RDS at the cluster-style
 * key `outbound|PORT||HOST` (grpcgen lds.go / rds.go).
 */
export function listenerName(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function routeConfigName(host: string, port: number): string {
  return clusterName(port, '', host);
}

/** Virtual host name as istiod's sidecar route builder writes it. */
export function virtualHostName(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * Domains a client may put in :authority for this service: the host, host:port,
 * and for Kubernetes-style `NAME.NS.svc.DOMAIN` hosts the short forms a pod in
 * that namespace may use (`NAME`, `NAME.NS`, `NAME.NS.svc`), each with and without port.
 */
export function virtualHostDomains(host: string, port: number, namespace: string | undefined): string[] {
  const names = [host];
  const m = /^([^.]+)\.([^.]+)\.svc\.(.+)$/.exec(host);
  if (m) {
    const [, name, ns] = m;
    if (ns === namespace || namespace === undefined) names.push(`${name}`);
    names.push(`${name}.${ns}`, `${name}.${ns}.svc`);
  }
  const out: string[] = [];
  for (const n of names) out.push(n, `${n}:${port}`);
  return out;
}
