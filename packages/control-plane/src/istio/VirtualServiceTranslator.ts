import type { MeshResource } from './MeshDocument.js';
import type { SpecNode } from './SpecNode.js';

/** A VirtualService's hosts and HTTP routes, checked at the top level. */
export interface VirtualServiceRules {
  readonly hosts: readonly { readonly host: string; readonly node: SpecNode }[];
  /** The `http` routes, translated per port by HttpRouteTranslator. */
  readonly http: readonly SpecNode[];
  readonly resource: MeshResource;
}

/**
 * Reads the top level of a VirtualService. TCP and TLS routes are refused: an
 * in-process client only has HTTP and gRPC calls to route. A VirtualService bound
 * to gateways but not to `mesh` never applies to mesh clients in Istio, so it is
 * skipped with a warning.
 */
export function readVirtualService(res: MeshResource): VirtualServiceRules | undefined {
  const spec = res.spec;
  spec.checkFields(['hosts', 'http', 'gateways'], {
    ignored: { exportTo: 'every process that loads mesh.yaml sees every VirtualService' },
    unsupported: {
      tcp: 'Meshlet routes HTTP and gRPC calls only; remove the tcp routes',
      tls: 'Meshlet routes HTTP and gRPC calls only; remove the tls routes',
    },
  });
  const gateways = spec.field('gateways');
  if (gateways.present) {
    const list = gateways.strings();
    if (!list.includes('mesh')) {
      gateways.warn('this VirtualService is bound to gateways only, so it does not apply to mesh clients; add "mesh" to gateways to apply it');
      return undefined;
    }
  }
  const hostsNode = spec.required('hosts', 'list the ServiceEntry hosts this VirtualService routes');
  const hosts = hostsNode.items().flatMap((n) => {
    const host = n.string();
    if (host === undefined) return [];
    if (host.includes('*')) {
      n.error(`wildcard host "${host}" is not supported; list the hosts exactly`);
      return [];
    }
    return [{ host, node: n }];
  });
  const http = spec.field('http');
  if (!http.present) spec.field('http').warn('no http routes: this VirtualService has no effect');
  return { hosts, http: http.items(), resource: res };
}
