/** The parts of an istiod cluster name `direction|port|subset|host`. */
export interface IstioClusterName {
  readonly direction: string;
  readonly port: number;
  /** '' when the cluster is not a subset. */
  readonly subset: string;
  /** The service FQDN, e.g. `reviews.default.svc.cluster.local`. */
  readonly host: string;
}

/** Parses `outbound|9080|v1|reviews.default.svc.cluster.local`; undefined for any other name. */
export function parseIstioClusterName(name: string): IstioClusterName | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  const n = Number(port);
  if (!Number.isInteger(n) || host === '') return undefined;
  return { direction, port: n, subset, host };
}
