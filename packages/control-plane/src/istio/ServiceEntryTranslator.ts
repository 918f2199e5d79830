import { isIP } from 'node:net';
import type { MeshResource } from './MeshDocument.js';
import type { SpecNode } from './SpecNode.js';

/** The protocols Istio names on a port; the HTTP family gets an HTTP listener and routes. */
const PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'MONGO', 'MYSQL', 'REDIS', 'TCP', 'TLS', 'UDP'] as const;
export type PortProtocol = (typeof PROTOCOLS)[number];
const HTTP_FAMILY: readonly string[] = ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB'];
const H2_PROTOCOLS: readonly string[] = ['HTTP2', 'GRPC', 'GRPC-WEB'];

export interface ServicePort {
  readonly number: number;
  readonly name: string;
  readonly protocol: PortProtocol | undefined;
  readonly targetPort: number | undefined;
  readonly node: SpecNode;
}

export interface ServiceEndpoint {
  readonly address: string;
  /** Port name -> endpoint port (WorkloadEntry.ports). */
  readonly ports: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight: number | undefined;
  readonly locality: { readonly region: string; readonly zone: string; readonly sub_zone: string } | undefined;
  readonly node: SpecNode;
}

/** One host of a ServiceEntry: what clusters, endpoints and listeners are built from. */
export interface MeshService {
  readonly host: string;
  readonly namespace: string | undefined;
  readonly address: string | undefined;
  readonly ports: readonly ServicePort[];
  readonly endpoints: readonly ServiceEndpoint[];
  readonly location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  readonly subjectAltNames: readonly string[];
  readonly resource: MeshResource;
  readonly hostNode: SpecNode;
}

export function isHttpPort(port: ServicePort): boolean {
  // Istio sniffs unnamed protocols; an in-process client speaks HTTP, so treat "unset" as HTTP.
  return port.protocol === undefined || HTTP_FAMILY.includes(port.protocol);
}

export function isHttp2Port(port: ServicePort): boolean {
  return port.protocol !== undefined && H2_PROTOCOLS.includes(port.protocol);
}

/** The port an endpoint listens on for a service port, as istiod picks it. */
export function endpointPort(ep: ServiceEndpoint, port: ServicePort): number {
  return ep.ports[port.name] ?? port.targetPort ?? port.number;
}

/**
 * Reads a ServiceEntry into one MeshService per host. Only `resolution: STATIC`
 * with inline `endpoints` can be served without a control plane; the other
 * resolutions need DNS or a registry and are reported with a way out.
 */
export function readServiceEntry(res: MeshResource): MeshService[] {
  const spec = res.spec;
  spec.checkFields(['hosts', 'addresses', 'ports', 'location', 'resolution', 'endpoints', 'subjectAltNames'], {
    ignored: { exportTo: 'every process that loads mesh.yaml sees every service' },
    unsupported: { workloadSelector: 'list the endpoints inline under spec.endpoints' },
  });
  const hostsNode = spec.required('hosts', 'list the service host names, e.g. [reviews.demo.local]');
  const hosts = hostsNode.items().flatMap((h) => {
    const s = h.string();
    if (s === undefined) return [];
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(s)) {
      h.error(`"${s}" is not a valid host name`);
      return [];
    }
    if (s.startsWith('*')) {
      h.error(`wildcard host "${s}" cannot have static endpoints; name the host exactly`);
      return [];
    }
    return [{ host: s, node: h }];
  });
  if (hostsNode.present && hostsNode.items().length === 0) hostsNode.error('at least one host is required');

  const addresses = spec.field('addresses').strings();
  const location = spec.field('location').oneOf(['MESH_EXTERNAL', 'MESH_INTERNAL'] as const) ?? 'MESH_EXTERNAL';
  const resolutionNode = spec.field('resolution');
  const resolution = resolutionNode.oneOf(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'] as const) ?? 'NONE';
  if (resolutionNode.present && resolution !== 'STATIC') {
    resolutionNode.error(`resolution ${resolution} is not supported without a control plane; use resolution: STATIC with IP endpoints`);
  }

  const portsNode = spec.required('ports', 'list at least one port, e.g. [{number: 9080, name: http, protocol: HTTP}]');
  const ports = readPorts(portsNode);

  const endpointsNode = spec.field('endpoints');
  if (!resolutionNode.present) {
    resolutionNode.error('resolution is required: write resolution: STATIC and list the endpoints');
  }
  const endpoints = endpointsNode.items().flatMap((e) => readEndpoint(e, ports));
  if (resolution === 'STATIC' && !endpointsNode.present) endpointsNode.warn('no endpoints: every request to this service will fail with 503 (no healthy upstream)');

  return hosts.map(({ host, node }) => ({
    host,
    namespace: res.namespace,
    address: addresses[0],
    ports,
    endpoints,
    location,
    subjectAltNames: spec.field('subjectAltNames').strings(),
    resource: res,
    hostNode: node,
  }));
}

function readPorts(portsNode: SpecNode): ServicePort[] {
  const out: ServicePort[] = [];
  const seenNumbers = new Set<number>();
  const seenNames = new Set<string>();
  for (const p of portsNode.items()) {
    if (!p.checkFields(['number', 'protocol', 'name', 'targetPort'])) continue;
    const number = p.required('number').number({ integer: true, min: 1, max: 65535 });
    const protoNode = p.field('protocol');
    const protoText = protoNode.string();
    let protocol: PortProtocol | undefined;
    if (protoText !== undefined) {
      // Istio matches protocol names case-insensitively (http == HTTP).
      protocol = PROTOCOLS.find((x) => x === protoText.toUpperCase());
      if (!protocol) protoNode.error(`unknown protocol "${protoText}"; expected one of ${PROTOCOLS.join(', ')}`);
    }
    const name = p.field('name').string() ?? (number !== undefined ? `port-${number}` : '');
    const targetPort = p.field('targetPort').number({ integer: true, min: 1, max: 65535 });
    if (number === undefined) continue;
    if (seenNumbers.has(number)) p.field('number').error(`port ${number} is listed twice`);
    if (seenNames.has(name)) p.field('name').error(`port name "${name}" is used twice; endpoint ports are matched by name`);
    seenNumbers.add(number);
    seenNames.add(name);
    out.push({ number, name, protocol, targetPort, node: p });
  }
  if (portsNode.present && out.length === 0 && portsNode.items().length === 0) portsNode.error('at least one port is required');
  return out;
}

function readEndpoint(e: SpecNode, ports: readonly ServicePort[]): ServiceEndpoint[] {
  if (!e.checkFields(['address', 'ports', 'labels', 'weight', 'locality'], {
    ignored: { network: 'Meshlet has a single network', serviceAccount: 'identity comes from the peer certificate' },
  })) return [];
  const addrNode = e.required('address', 'the endpoint IP, e.g. 127.0.0.1');
  const address = addrNode.string();
  if (address !== undefined && isIP(address) === 0) {
    addrNode.error(`"${address}" is not an IP address; resolution: STATIC needs IP endpoints`);
    return [];
  }
  const portMap: Record<string, number> = {};
  for (const [name, v] of e.field('ports').entries()) {
    const n = v.number({ integer: true, min: 1, max: 65535 });
    if (n === undefined) continue;
    if (!ports.some((p) => p.name === name)) {
      v.error(`no service port is named "${name}"; endpoint ports are keyed by the name of a port in spec.ports (${ports.map((p) => p.name).join(', ')})`, 'key');
      continue;
    }
    portMap[name] = n;
  }
  const labels = e.field('labels').stringMap() ?? {};
  const weight = e.field('weight').number({ integer: true, min: 1, max: 4_294_967_295 });
  const locNode = e.field('locality');
  const loc = locNode.string();
  let locality: ServiceEndpoint['locality'];
  if (loc !== undefined) {
    const [region = '', zone = '', sub_zone = '', ...rest] = loc.split('/');
    if (rest.length > 0) locNode.error(`locality "${loc}" has more than three parts; write region/zone/subzone`);
    locality = { region, zone, sub_zone };
  }
  if (address === undefined) return [];
  return [{ address, ports: portMap, labels, weight, locality, node: e }];
}
