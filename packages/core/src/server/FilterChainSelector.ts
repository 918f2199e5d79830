import { ValidationError } from '@meshlet/xds-client';
import type { FilterChain, FilterChainMatch, Listener } from '@meshlet/xds-client';
import { CidrMatcher } from '../rbac/CidrMatcher.js';
import { IpAddress } from '../rbac/IpAddress.js';
import type { ConnectionInfo } from './ConnectionInfo.js';

/**
 * How much of FilterChainMatch the server can observe.
 * - 'grpc' (default, gRFC A36): a gRPC server has no listener filters (no original_dst, tls_inspector,
 *   http_inspector), so A36 hard-codes their inputs: a chain that sets destination_port, server_names or
 *   application_protocols never matches, and transport_protocol only matches "" or "raw_buffer". Such
 *   chains are dropped before the overlap check, as they can never be selected. The connection's
 *   serverName / transportProtocol / applicationProtocols are ignored.
 * - 'envoy': every criterion is matched against ConnectionInfo, for servers that inspect the
 *   ClientHello (SNI, ALPN) before choosing a chain, e.g. to serve Istio PERMISSIVE-style listeners.
 */
export type FilterChainMatchMode = 'grpc' | 'envoy';

export interface FilterChainSelectorOptions {
  readonly mode?: FilterChainMatchMode;
}

/** The eight FilterChainMatch criteria, in Envoy's matching order. */
const enum Level {
  DestinationPort,
  DestinationPrefix,
  ServerName,
  TransportProtocol,
  ApplicationProtocol,
  SourceType,
  SourcePrefix,
  SourcePort,
}
const LEVELS = 8;

/** The key of "criterion not set" at every level: the least specific choice. */
const ANY = '';

interface CidrChild {
  readonly cidr: CidrMatcher;
  readonly node: Node;
}

/** One level of the match tree: children by key; CIDR levels also keep their ranges, most specific first. */
class Node {
  readonly children = new Map<string, Node>();
  cidrs: CidrChild[] = [];
  chain: FilterChain | undefined;
  chainIndex = -1;
}

interface Expanded {
  readonly keys: readonly (readonly string[])[];
  readonly cidrs: ReadonlyMap<string, CidrMatcher>;
}

/**
 * Selects the FilterChain of a Listener for a new connection with Envoy's FilterChainMatch semantics:
 * criteria are applied in order (destination port, destination IP, server name, transport protocol,
 * application protocols, source type, source IP, source port); at each step the most specific value
 * that matches wins (longest CIDR prefix, exact port over none, exact server name over `*.suffix`
 * over none, SAME_IP_OR_LOOPBACK / EXTERNAL over ANY), and only chains with that value go on to the
 * next step. There is no backtracking: if the chosen branch has nothing for a later criterion, no chain
 * matches (and the caller falls back to default_filter_chain, or closes the connection).
 *
 * Two chains that share a full combination of criteria values make the Listener invalid: Envoy rejects
 * "multiple filter chains with the same matching rules", and gRFC A36 NACKs it; compile() throws.
 * Compiled once per Listener update; select() allocates only the parsed addresses.
 */
export class FilterChainSelector {
  private constructor(
    private readonly root: Node,
    readonly mode: FilterChainMatchMode,
    readonly defaultFilterChain: FilterChain | undefined,
  ) {}

  static compile(listener: Listener, options: FilterChainSelectorOptions = {}): FilterChainSelector {
    const mode = options.mode ?? 'grpc';
    const root = new Node();
    listener.filter_chains.forEach((chain, i) => {
      const path = `filter_chains[${i}].filter_chain_match`;
      const m = chain.filter_chain_match;
      const expanded = expand(m, path);
      if (mode === 'grpc' && !observableByGrpc(m)) return;
      insert(root, chain, i, expanded, 0, []);
    });
    finish(root, 0);
    return new FilterChainSelector(root, mode, listener.default_filter_chain);
  }

  /** The matching chain, or undefined when none matches (then use defaultFilterChain or reject). */
  select(conn: ConnectionInfo): FilterChain | undefined {
    const dst = IpAddress.parse(conn.destinationIp);
    const src = IpAddress.parse(conn.sourceIp);
    const sourceType = src !== undefined && (src.isLoopback() || (dst !== undefined && src.equals(dst))) ? 'SAME_IP_OR_LOOPBACK' : 'EXTERNAL';
    const grpc = this.mode === 'grpc';
    let node: Node | undefined = this.root;
    for (let level = 0; level < LEVELS && node !== undefined; level++) {
      const c: Map<string, Node> = node.children;
      switch (level as Level) {
        case Level.DestinationPort:
          node = c.get(String(conn.destinationPort)) ?? c.get(ANY);
          break;
        case Level.DestinationPrefix:
          node = mostSpecific(node, dst);
          break;
        case Level.ServerName:
          node = grpc ? c.get(ANY) : byServerName(c, conn.serverName);
          break;
        case Level.TransportProtocol:
          node = c.get(grpc ? 'raw_buffer' : (conn.transportProtocol ?? ANY)) ?? c.get(ANY);
          break;
        case Level.ApplicationProtocol:
          node = grpc ? c.get(ANY) : byApplicationProtocol(c, conn.applicationProtocols);
          break;
        case Level.SourceType:
          node = c.get(sourceType) ?? c.get('ANY');
          break;
        case Level.SourcePrefix:
          node = mostSpecific(node, src);
          break;
        case Level.SourcePort:
          node = c.get(String(conn.sourcePort)) ?? c.get(ANY);
          break;
      }
    }
    return node?.chain;
  }

  /** select(), falling back to the Listener's default_filter_chain. */
  selectOrDefault(conn: ConnectionInfo): FilterChain | undefined {
    return this.select(conn) ?? this.defaultFilterChain;
  }
}

/** gRFC A36: whether a chain can ever match on a gRPC server (see FilterChainMatchMode). */
function observableByGrpc(m: FilterChainMatch | undefined): boolean {
  if (m === undefined) return true;
  if (m.destination_port !== undefined) return false;
  if ((m.server_names ?? []).length > 0 || (m.application_protocols ?? []).length > 0) return false;
  const tp = m.transport_protocol ?? '';
  return tp === '' || tp === 'raw_buffer';
}

function expand(m: FilterChainMatch | undefined, path: string): Expanded {
  const cidrs = new Map<string, CidrMatcher>();
  const ranges = (list: FilterChainMatch['prefix_ranges'] | undefined, field: string): string[] => {
    if (list === undefined || list.length === 0) return [ANY];
    return list.map((r, i) => {
      const cm = new CidrMatcher(r, `${path}.${field}[${i}]`);
      const key = (cm.v4 ? 'v4:' : 'v6:') + cm.key;
      cidrs.set(key, cm);
      return key;
    });
  };
  const port = (p: number | undefined, field: string): string => {
    if (p === undefined) return ANY;
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new ValidationError(`${path}.${field}`, `invalid port ${p}`);
    return String(p);
  };
  const serverNames = (m?.server_names ?? []).map((n, i) => {
    const name = n.toLowerCase();
    // Envoy: a wildcard is only a leading "*." label.
    if (name === '' || (name.includes('*') && !(name.startsWith('*.') && !name.slice(2).includes('*')))) {
      throw new ValidationError(`${path}.server_names[${i}]`, `invalid server name ${JSON.stringify(n)}`);
    }
    return name;
  });
  const sourcePorts = (m?.source_ports ?? []).map((p, i) => port(p, `source_ports[${i}]`));
  const keys: string[][] = [];
  keys[Level.DestinationPort] = [port(m?.destination_port, 'destination_port')];
  keys[Level.DestinationPrefix] = ranges(m?.prefix_ranges, 'prefix_ranges');
  keys[Level.ServerName] = serverNames.length > 0 ? serverNames : [ANY];
  keys[Level.TransportProtocol] = [m?.transport_protocol ?? ANY];
  keys[Level.ApplicationProtocol] = (m?.application_protocols ?? []).length > 0 ? [...m!.application_protocols] : [ANY];
  keys[Level.SourceType] = [m?.source_type ?? 'ANY'];
  keys[Level.SourcePrefix] = ranges(m?.source_prefix_ranges, 'source_prefix_ranges');
  keys[Level.SourcePort] = sourcePorts.length > 0 ? sourcePorts : [ANY];
  return { keys, cidrs };
}

/** Adds a chain under every combination of its criteria values (Envoy's cross product). */
function insert(node: Node, chain: FilterChain, index: number, e: Expanded, level: number, route: string[]): void {
  if (level === LEVELS) {
    if (node.chain !== undefined && node.chain !== chain) {
      throw new ValidationError(
        `filter_chains[${index}].filter_chain_match`,
        `multiple filter chains with the same matching rules are defined: filter_chains[${node.chainIndex}] and filter_chains[${index}] both match ${describe(route)}`,
      );
    }
    node.chain = chain;
    node.chainIndex = index;
    return;
  }
  for (const key of new Set(e.keys[level])) {
    let child = node.children.get(key);
    if (child === undefined) {
      child = new Node();
      node.children.set(key, child);
      const cm = e.cidrs.get(key);
      if (cm !== undefined && (level === Level.DestinationPrefix || level === Level.SourcePrefix)) node.cidrs.push({ cidr: cm, node: child });
    }
    route.push(key);
    insert(child, chain, index, e, level + 1, route);
    route.pop();
  }
}

function describe(route: readonly string[]): string {
  const names = ['destination_port', 'prefix_range', 'server_name', 'transport_protocol', 'application_protocol', 'source_type', 'source_prefix_range', 'source_port'];
  const parts = route.map((k, i) => (k === ANY ? '' : `${names[i]}=${k}`)).filter((s) => s !== '');
  return parts.length > 0 ? `{${parts.join(', ')}}` : '{} (no criteria)';
}

function finish(node: Node, level: number): void {
  node.cidrs.sort((a, b) => b.cidr.prefixLen - a.cidr.prefixLen);
  for (const child of node.children.values()) finish(child, level + 1);
}

/** Longest matching prefix; chains without ranges are the fallback (less specific than any range, even /0). */
function mostSpecific(node: Node, ip: IpAddress | undefined): Node | undefined {
  for (const { cidr, node: child } of node.cidrs) if (cidr.contains(ip)) return child;
  return node.children.get(ANY);
}

/** Exact name, then `*.` wildcards from the longest suffix to the shortest, then chains without names. */
function byServerName(c: Map<string, Node>, serverName: string | undefined): Node | undefined {
  if (serverName !== undefined && serverName !== '') {
    const name = serverName.toLowerCase();
    const exact = c.get(name);
    if (exact !== undefined) return exact;
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      const w = c.get(`*${name.slice(dot)}`);
      if (w !== undefined) return w;
    }
  }
  return c.get(ANY);
}

/** The first protocol in the client's ALPN list that some chain names, else chains without ALPN. */
function byApplicationProtocol(c: Map<string, Node>, protocols: readonly string[] | undefined): Node | undefined {
  if (protocols !== undefined) {
    for (const p of protocols) {
      const n = c.get(p);
      if (n !== undefined) return n;
    }
  }
  return c.get(ANY);
}
