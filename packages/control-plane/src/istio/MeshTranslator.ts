import { buildServiceClusters } from './ClusterBuilder.js';
import { DiagnosticSink } from './DiagnosticSink.js';
import { readDestinationRule, type DestinationPolicy } from './DestinationRuleTranslator.js';
import { defaultRoute, translateHttpRoute, type DestinationResolver, type ResolvedDestination } from './HttpRouteTranslator.js';
import { clusterName } from './IstioNames.js';
import { buildOutboundListener, buildRouteConfiguration } from './ListenerBuilder.js';
import { MeshConfigError, type MeshConfigDiagnostic } from './MeshConfigError.js';
import { parseMeshDocuments, type MeshResource } from './MeshDocument.js';
import { durationObject, type ProtoObject } from './ProtoObjects.js';
import { isHttpPort, readServiceEntry, type MeshService } from './ServiceEntryTranslator.js';
import type { SpecNode } from './SpecNode.js';
import { policyForPort, EMPTY_POLICY, type HashKey } from './TrafficPolicy.js';
import { readVirtualService, type VirtualServiceRules } from './VirtualServiceTranslator.js';

export interface TranslateOptions {
  /** The name diagnostics use for the YAML text (default `mesh.yaml`). */
  readonly file?: string;
}

/**
 * xDS resources (plain snake_case proto objects, as `encodeAny` takes them)
 * shaped and named as istiod's grpc generator would send them.
 */
export interface TranslatedMesh {
  readonly listeners: ProtoObject[];
  readonly routes: ProtoObject[];
  readonly clusters: ProtoObject[];
  readonly endpoints: ProtoObject[];
  /** Fields accepted but without effect in Meshlet, and other harmless findings. */
  readonly warnings: MeshConfigDiagnostic[];
}

/**
 * Translates a mesh.yaml (Istio ServiceEntry, DestinationRule and VirtualService
 * documents) into xDS resources. Throws MeshConfigError listing every error
 * (file, line, column, field path) when the configuration is invalid.
 */
export function translateMesh(docs: string, options: TranslateOptions = {}): TranslatedMesh {
  const { mesh, diagnostics } = compileMesh(docs, options);
  if (diagnostics.some((d) => d.severity === 'error')) throw new MeshConfigError(diagnostics);
  return { ...mesh, warnings: diagnostics };
}

/** Runs the whole translation, collecting diagnostics instead of throwing. */
export function compileMesh(docs: string, options: TranslateOptions = {}): { mesh: Omit<TranslatedMesh, 'warnings'>; diagnostics: MeshConfigDiagnostic[] } {
  const file = options.file ?? 'mesh.yaml';
  const sink = new DiagnosticSink();
  const resources = parseMeshDocuments(typeof docs === 'string' ? docs : String(docs), file, sink);

  const services = new Map<string, MeshService>();
  const rules = new Map<string, DestinationPolicy>();
  const virtualServices = new Map<string, VirtualServiceRules>();
  for (const res of resources.filter((r) => r.kind === 'ServiceEntry')) {
    for (const svc of readServiceEntry(res)) {
      const prior = services.get(svc.host);
      if (prior) svc.hostNode.error(`host ${svc.host} is already defined by ${describe(prior.resource)}; merge the two ServiceEntries`);
      else services.set(svc.host, svc);
    }
  }
  for (const res of resources.filter((r) => r.kind === 'DestinationRule')) {
    const rule = readDestinationRule(res);
    if (!rule) continue;
    const prior = rules.get(rule.host);
    if (prior) rule.hostNode.error(`host ${rule.host} already has ${describe(prior.resource)}; merge the two DestinationRules`);
    else if (!services.has(rule.host)) rule.hostNode.error(unknownHost(rule.host, services));
    else rules.set(rule.host, rule);
  }
  for (const res of resources.filter((r) => r.kind === 'VirtualService')) {
    const vs = readVirtualService(res);
    if (!vs) continue;
    for (const { host, node } of vs.hosts) {
      const prior = virtualServices.get(host);
      if (prior) node.error(`host ${host} is already routed by ${describe(prior.resource)}; merge the http routes into one VirtualService`);
      else if (!services.has(host)) node.error(unknownHost(host, services));
      else virtualServices.set(host, vs);
    }
  }
  for (const rule of rules.values()) checkSubsetsSelectEndpoints(rule, services.get(rule.host)!);

  const resolve = destinationResolver(services, rules);
  const listeners: ProtoObject[] = [];
  const routes: ProtoObject[] = [];
  const clusters: ProtoObject[] = [];
  const endpoints: ProtoObject[] = [];
  for (const svc of services.values()) {
    const rule = rules.get(svc.host);
    const built = buildServiceClusters(svc, rule);
    clusters.push(...built.clusters);
    endpoints.push(...built.endpoints);
    for (const port of svc.ports) {
      if (!isHttpPort(port)) continue;
      const vs = virtualServices.get(svc.host);
      const vhostRoutes = vs
        ? vs.http.flatMap((route) => translateHttpRoute(route, port.number, resolve))
        : [defaultRoute(clusterName(port.number, '', svc.host), hashPolicy(policyForPort(rule?.trafficPolicy ?? EMPTY_POLICY, undefined, port.number).loadBalancer?.consistentHash?.key))];
      listeners.push(buildOutboundListener(svc.host, port.number, svc.address));
      routes.push(buildRouteConfiguration(svc.host, port.number, svc.namespace, vhostRoutes));
    }
  }
  return { mesh: { listeners, routes, clusters, endpoints }, diagnostics: sink.all() };
}

function describe(res: MeshResource): string {
  return `${res.kind} ${res.name} (${res.spec.scope.file}, line ${res.root.line})`;
}

function unknownHost(host: string, services: ReadonlyMap<string, MeshService>): string {
  const known = [...services.keys()];
  const short = host.split('.')[0];
  const guess = known.find((k) => k.split('.')[0] === short);
  return `no ServiceEntry defines host "${host}"${guess ? `; did you mean "${guess}"?` : known.length > 0 ? ` (known hosts: ${known.join(', ')})` : '; add a ServiceEntry with its ports and endpoints'}`;
}

function checkSubsetsSelectEndpoints(rule: DestinationPolicy, svc: MeshService): void {
  for (const subset of rule.subsets) {
    const any = svc.endpoints.some((ep) => Object.entries(subset.labels).every(([k, v]) => ep.labels[k] === v));
    if (!any && svc.endpoints.length > 0) {
      subset.node.field('labels').warn(`subset "${subset.name}" selects no endpoint of ${svc.host}; requests routed to it will fail with 503`);
    }
  }
}

/** Istio's consistentHash key as an Envoy RouteAction.HashPolicy list. */
function hashPolicy(key: HashKey | undefined): ProtoObject[] | undefined {
  if (!key) return undefined;
  switch (key.kind) {
    case 'header':
      return [{ header: { header_name: key.name } }];
    case 'cookie': {
      const cookie: ProtoObject = { name: key.name };
      if (key.path !== undefined) cookie['path'] = key.path;
      if (key.ttlNs !== undefined) cookie['ttl'] = durationObject(key.ttlNs);
      return [{ cookie }];
    }
    case 'sourceIp':
      return [{ connection_properties: { source_ip: true } }];
    case 'query':
      return [{ query_parameter: { name: key.name } }];
  }
}

/**
 * Resolves a route destination to its cluster. The port is the destination's
 * port.number, else the service's only port, else the port of the listener being
 * built (istiod's rule); the subset must be defined in the host's DestinationRule.
 */
function destinationResolver(services: ReadonlyMap<string, MeshService>, rules: ReadonlyMap<string, DestinationPolicy>): DestinationResolver {
  return (dest: SpecNode, listenerPort: number): ResolvedDestination | undefined => {
    if (!dest.checkFields(['host', 'subset', 'port'])) return undefined;
    const hostNode = dest.required('host');
    const host = hostNode.string();
    const subsetNode = dest.field('subset');
    const subsetName = subsetNode.string();
    const portNode = dest.field('port');
    portNode.checkFields(['number']);
    const portNumber = portNode.field('number').number({ integer: true, min: 1, max: 65535 });
    if (host === undefined) return undefined;
    const svc = services.get(host);
    if (!svc) {
      hostNode.error(unknownHost(host, services));
      return undefined;
    }
    let port = portNumber;
    if (port !== undefined) {
      if (!svc.ports.some((p) => p.number === port)) {
        portNode.field('number').error(`${host} has no port ${port}; its ports are ${svc.ports.map((p) => p.number).join(', ')}`);
        return undefined;
      }
    } else if (svc.ports.length === 1) port = svc.ports[0]!.number;
    else if (svc.ports.some((p) => p.number === listenerPort)) port = listenerPort;
    else {
      dest.error(`port is required: ${host} has several ports (${svc.ports.map((p) => p.number).join(', ')})`);
      return undefined;
    }
    const rule = rules.get(host);
    let subsetPolicy;
    if (subsetName !== undefined) {
      const subset = rule?.subsets.find((s) => s.name === subsetName);
      if (!subset) {
        const defined = rule?.subsets.map((s) => s.name) ?? [];
        subsetNode.error(
          `subset "${subsetName}" is not defined${rule ? ` in DestinationRule ${rule.resource.name}` : ''} for host ${host}` +
            (defined.length > 0 ? ` (defined: ${defined.join(', ')})` : `; add a DestinationRule for ${host} with subset ${subsetName}`),
        );
        return undefined;
      }
      subsetPolicy = subset.trafficPolicy;
    }
    const policy = policyForPort(rule?.trafficPolicy ?? EMPTY_POLICY, subsetPolicy, port);
    return { cluster: clusterName(port, subsetName ?? '', host), hashPolicy: hashPolicy(policy.loadBalancer?.consistentHash?.key) };
  };
}
