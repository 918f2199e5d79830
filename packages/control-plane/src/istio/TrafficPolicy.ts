import type { SpecNode } from './SpecNode.js';

/** How a consistent-hash key is taken from a request (Istio LoadBalancerSettings.ConsistentHashLB). */
export type HashKey =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string; readonly path: string | undefined; readonly ttlNs: number | undefined }
  | { readonly kind: 'sourceIp' }
  | { readonly kind: 'query'; readonly name: string };

export interface LoadBalancerPolicy {
  readonly simple: 'UNSPECIFIED' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | undefined;
  readonly consistentHash:
    | { readonly key: HashKey | undefined; readonly algorithm: 'RING_HASH' | 'MAGLEV'; readonly minimumRingSize: number | undefined; readonly tableSize: number | undefined }
    | undefined;
}

export interface ConnectionPoolPolicy {
  readonly maxConnections?: number | undefined;
  readonly connectTimeoutNs?: number | undefined;
  readonly http1MaxPendingRequests?: number | undefined;
  readonly http2MaxRequests?: number | undefined;
  readonly maxRequestsPerConnection?: number | undefined;
  readonly maxRetries?: number | undefined;
  readonly idleTimeoutNs?: number | undefined;
}

export interface OutlierPolicy {
  readonly consecutive5xxErrors?: number | undefined;
  readonly consecutiveGatewayErrors?: number | undefined;
  readonly consecutiveLocalOriginFailures?: number | undefined;
  readonly splitExternalLocalOriginErrors?: boolean | undefined;
  readonly intervalNs?: number | undefined;
  readonly baseEjectionTimeNs?: number | undefined;
  readonly maxEjectionPercent?: number | undefined;
  readonly minHealthPercent?: number | undefined;
}

export interface TlsPolicy {
  readonly mode: 'DISABLE' | 'ISTIO_MUTUAL';
  readonly subjectAltNames: readonly string[];
  readonly sni: string | undefined;
}

/** The parts of an Istio TrafficPolicy Meshlet applies to a cluster. */
export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancerPolicy | undefined;
  readonly connectionPool?: ConnectionPoolPolicy | undefined;
  readonly outlierDetection?: OutlierPolicy | undefined;
  readonly tls?: TlsPolicy | undefined;
  /** portLevelSettings by port number: each replaces whole components of the policy it sits in. */
  readonly portLevel: ReadonlyMap<number, TrafficPolicy>;
}

export const EMPTY_POLICY: TrafficPolicy = { portLevel: new Map() };

/**
 * The policy for one port of one subset, merged the way istiod merges
 * (MergeTrafficPolicy): a component set at a more specific level (port-level
 * settings, then the subset's policy) replaces the whole component of the outer
 * level; components are never merged field by field.
 */
export function policyForPort(outer: TrafficPolicy, inner: TrafficPolicy | undefined, port: number): TrafficPolicy {
  let p = overlay(outer, outer.portLevel.get(port));
  if (inner) p = overlay(overlay(p, inner), inner.portLevel.get(port));
  return p;
}

function overlay(base: TrafficPolicy, top: TrafficPolicy | undefined): TrafficPolicy {
  if (!top) return base;
  return {
    loadBalancer: top.loadBalancer ?? base.loadBalancer,
    connectionPool: top.connectionPool ?? base.connectionPool,
    outlierDetection: top.outlierDetection ?? base.outlierDetection,
    tls: top.tls ?? base.tls,
    portLevel: new Map(),
  };
}

/** Reads `trafficPolicy` (or one of its portLevelSettings entries). */
export function readTrafficPolicy(node: SpecNode, portLevelAllowed = true): TrafficPolicy | undefined {
  if (!node.present) return undefined;
  const known = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'];
  if (portLevelAllowed) known.push('portLevelSettings');
  else known.push('port');
  if (!node.checkFields(known, {
    unsupported: { proxyProtocol: 'Meshlet does not send PROXY protocol headers' },
    ignored: { tunnel: 'tunnelling applies to Envoy sidecars only', retryBudget: 'use connectionPool.http.maxRetries' },
  })) return undefined;
  const portLevel = new Map<number, TrafficPolicy>();
  if (portLevelAllowed) {
    for (const pl of node.field('portLevelSettings').items()) {
      const port = pl.required('port').required('number').number({ integer: true, min: 1, max: 65535 });
      pl.field('port').checkFields(['number']);
      const policy = readTrafficPolicy(pl, false);
      if (port === undefined || !policy) continue;
      if (portLevel.has(port)) pl.field('port').error(`port ${port} already has portLevelSettings`);
      portLevel.set(port, policy);
    }
  }
  return {
    loadBalancer: readLoadBalancer(node.field('loadBalancer')),
    connectionPool: readConnectionPool(node.field('connectionPool')),
    outlierDetection: readOutlier(node.field('outlierDetection')),
    tls: readTls(node.field('tls')),
    portLevel,
  };
}

function readLoadBalancer(node: SpecNode): LoadBalancerPolicy | undefined {
  if (!node.present) return undefined;
  if (!node.checkFields(['simple', 'consistentHash'], {
    ignored: {
      localityLbSetting: 'locality-aware failover is not applied by the embedded translator; endpoints keep their locality for weighting',
      warmupDurationSecs: 'slow start is not implemented by Meshlet',
      warmup: 'slow start is not implemented by Meshlet',
    },
  })) return undefined;
  const simpleNode = node.field('simple');
  const simple = simpleNode.oneOf(['UNSPECIFIED', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'] as const);
  if (simple === 'PASSTHROUGH') simpleNode.error('PASSTHROUGH forwards to the original destination address, which an in-process client does not have; use ROUND_ROBIN');
  const ch = node.field('consistentHash');
  if (simpleNode.present && ch.present) node.error('set either simple or consistentHash, not both');
  let consistentHash: LoadBalancerPolicy['consistentHash'];
  if (ch.present && ch.checkFields(['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName', 'ringHash', 'maglev', 'minimumRingSize'])) {
    const keys: HashKey[] = [];
    const header = ch.field('httpHeaderName').string();
    if (header !== undefined) keys.push({ kind: 'header', name: header.toLowerCase() });
    const cookie = ch.field('httpCookie');
    if (cookie.present && cookie.checkFields(['name', 'path', 'ttl'], { ignored: { attributes: 'cookie attributes are not sent by Meshlet' } })) {
      const name = cookie.required('name').string();
      if (name !== undefined) keys.push({ kind: 'cookie', name, path: cookie.field('path').string(), ttlNs: cookie.field('ttl').duration() });
    }
    const sourceIp = ch.field('useSourceIp').boolean();
    if (sourceIp) keys.push({ kind: 'sourceIp' });
    const query = ch.field('httpQueryParameterName').string();
    if (query !== undefined) keys.push({ kind: 'query', name: query });
    if (keys.length > 1) ch.error('set exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName');
    if (keys.length === 0) ch.error('consistentHash needs a key: one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName');
    const ring = ch.field('ringHash');
    const maglev = ch.field('maglev');
    if (ring.present && maglev.present) ch.error('set either ringHash or maglev, not both');
    ring.checkFields(['minimumRingSize']);
    maglev.checkFields(['tableSize']);
    const minimumRingSize = ring.field('minimumRingSize').number({ integer: true, min: 1, max: 8_388_608 }) ?? ch.field('minimumRingSize').number({ integer: true, min: 1, max: 8_388_608 });
    const tableSize = maglev.field('tableSize').number({ integer: true, min: 1 });
    if (tableSize !== undefined && !isPrime(tableSize)) maglev.field('tableSize').error(`Maglev table size must be a prime number, got ${tableSize}`);
    consistentHash = { key: keys[0], algorithm: maglev.present ? 'MAGLEV' : 'RING_HASH', minimumRingSize, tableSize };
  }
  return { simple, consistentHash };
}

function readConnectionPool(node: SpecNode): ConnectionPoolPolicy | undefined {
  if (!node.present) return undefined;
  if (!node.checkFields(['tcp', 'http'])) return undefined;
  const tcp = node.field('tcp');
  tcp.checkFields(['maxConnections', 'connectTimeout', 'idleTimeout'], {
    ignored: { tcpKeepalive: 'the OS keepalive defaults apply', maxConnectionDuration: 'connections are not recycled by age' },
  });
  const http = node.field('http');
  http.checkFields(['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'idleTimeout'], {
    ignored: {
      h2UpgradePolicy: 'the protocol follows the ServiceEntry port protocol',
      useClientProtocol: 'the protocol follows the ServiceEntry port protocol',
      maxConcurrentStreams: 'HTTP/2 stream limits come from the server SETTINGS frame',
    },
  });
  const count = (n: SpecNode) => n.number({ integer: true, min: 0, max: 2_147_483_647 });
  return {
    maxConnections: count(tcp.field('maxConnections')),
    connectTimeoutNs: tcp.field('connectTimeout').duration({ min: 1e6 }),
    http1MaxPendingRequests: count(http.field('http1MaxPendingRequests')),
    http2MaxRequests: count(http.field('http2MaxRequests')),
    maxRequestsPerConnection: count(http.field('maxRequestsPerConnection')),
    maxRetries: count(http.field('maxRetries')),
    idleTimeoutNs: http.field('idleTimeout').duration() ?? tcp.field('idleTimeout').duration(),
  };
}

function readOutlier(node: SpecNode): OutlierPolicy | undefined {
  if (!node.present) return undefined;
  if (!node.checkFields(
    ['consecutive5xxErrors', 'consecutiveGatewayErrors', 'consecutiveLocalOriginFailures', 'splitExternalLocalOriginErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent', 'minHealthPercent'],
    { unsupported: { consecutiveErrors: 'it was removed from Istio; use consecutive5xxErrors (or consecutiveGatewayErrors for 502/503/504 only)' } },
  )) return undefined;
  const count = (n: SpecNode) => n.number({ integer: true, min: 0, max: 4_294_967_295 });
  const percent = (n: SpecNode) => n.number({ integer: true, min: 0, max: 100 });
  return {
    consecutive5xxErrors: count(node.field('consecutive5xxErrors')),
    consecutiveGatewayErrors: count(node.field('consecutiveGatewayErrors')),
    consecutiveLocalOriginFailures: count(node.field('consecutiveLocalOriginFailures')),
    splitExternalLocalOriginErrors: node.field('splitExternalLocalOriginErrors').boolean(),
    intervalNs: node.field('interval').duration({ min: 1e6 }),
    baseEjectionTimeNs: node.field('baseEjectionTime').duration({ min: 1e6 }),
    maxEjectionPercent: percent(node.field('maxEjectionPercent')),
    minHealthPercent: percent(node.field('minHealthPercent')),
  };
}

function readTls(node: SpecNode): TlsPolicy | undefined {
  if (!node.present) return undefined;
  if (!node.checkFields(['mode', 'subjectAltNames', 'sni'], {
    unsupported: {
      clientCertificate: 'only ISTIO_MUTUAL and DISABLE are supported',
      privateKey: 'only ISTIO_MUTUAL and DISABLE are supported',
      caCertificates: 'only ISTIO_MUTUAL and DISABLE are supported',
      credentialName: 'only ISTIO_MUTUAL and DISABLE are supported',
      insecureSkipVerify: 'only ISTIO_MUTUAL and DISABLE are supported',
      caCrl: 'only ISTIO_MUTUAL and DISABLE are supported',
    },
  })) return undefined;
  const modeNode = node.required('mode');
  const mode = modeNode.oneOf(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] as const);
  if (mode === 'SIMPLE' || mode === 'MUTUAL') {
    modeNode.error(`tls mode ${mode} needs files or secrets Meshlet does not load from mesh.yaml; use ISTIO_MUTUAL (mesh certificates) or DISABLE`);
    return undefined;
  }
  if (mode === undefined) return undefined;
  return { mode, subjectAltNames: node.field('subjectAltNames').strings(), sni: node.field('sni').string() };
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
