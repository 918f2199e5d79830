import { decodeAny, type AnyMessage } from '@meshlet/xds-client';

/** Small, valid Envoy v3 resources (snake_case proto objects) for ADS server tests. */

export function edsCluster(name: string): Record<string, unknown> {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'ROUND_ROBIN' };
}

export function loadAssignment(clusterName: string, ports: number[]): Record<string, unknown> {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        locality: { region: 'local' },
        load_balancing_weight: { value: 1 },
        lb_endpoints: ports.map((port) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
        })),
      },
    ],
  };
}

export function routeConfig(name: string, cluster: string): Record<string, unknown> {
  return {
    name,
    virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster } }] }],
  };
}

/** The `name` (or `cluster_name`) of each resource in a response, decoded from its Any. */
export function namesOf(resources: readonly AnyMessage[]): string[] {
  return resources.map((any) => {
    const decoded = decodeAny(any) ?? {};
    return String(decoded.name ?? decoded.cluster_name);
  });
}
