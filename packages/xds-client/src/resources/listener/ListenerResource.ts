import type { CidrRange, FilterChain, FilterChainMatch, Listener, TypedExtension } from '../model.js';
import { LISTENER_TYPE_URL, type ResourceType } from '../ResourceType.js';
import { address, isIpLiteral } from '../common/Addresses.js';
import { transportSocket } from '../common/TransportSockets.js';
import { anyValue, decodeKnown, opaque, typeName } from '../common/TypedExtensions.js';
import { defineResourceType } from '../common/ResourceDecoding.js';
import { HCM_TYPE, httpConnectionManager } from './HttpConnectionManager.js';
import { decodeHttpConnectionManagerWire } from './HttpConnectionManagerWire.js';
import { decodeListenerWire } from './ListenerWire.js';
import type { HttpConnectionManager } from '../model.js';
import { asObj, at, compact, fail, list, optEnum, optObj, optStr, optWrappedUint, str, strList, toNumber, type Obj } from '../common/ObjectReader.js';

function cidrRanges(o: Obj, key: string, path: string): readonly CidrRange[] {
  return list(o, key, path).map((r, i) => {
    const p = at(at(path, key), i);
    const ro = asObj(r, p);
    const address_prefix = str(ro, 'address_prefix', p);
    // gRFC A36: an unparsable prefix is a NACK.
    if (!isIpLiteral(address_prefix)) fail(at(p, 'address_prefix'), `not an IP address: "${address_prefix}"`);
    const prefix_len = optWrappedUint(ro, 'prefix_len', p) ?? 0;
    const max = address_prefix.includes(':') ? 128 : 32;
    if (prefix_len > max) fail(at(p, 'prefix_len'), `must be at most ${max}`);
    return { address_prefix, prefix_len };
  });
}

function filterChainMatch(o: Obj, path: string): FilterChainMatch {
  const port = optWrappedUint(o, 'destination_port', path);
  if (port !== undefined && (port < 1 || port > 65535)) fail(at(path, 'destination_port'), 'port must be in 1..65535');
  return compact({
    destination_port: port,
    prefix_ranges: cidrRanges(o, 'prefix_ranges', path),
    source_type: optEnum(o, 'source_type', path, ['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'] as const),
    source_prefix_ranges: cidrRanges(o, 'source_prefix_ranges', path),
    source_ports: list(o, 'source_ports', path).map((p, i) => {
      const n = toNumber(p, at(at(path, 'source_ports'), i));
      if (!Number.isInteger(n) || n < 1 || n > 65535) fail(at(at(path, 'source_ports'), i), 'port must be in 1..65535');
      return n;
    }),
    server_names: strList(o, 'server_names', path),
    transport_protocol: optStr(o, 'transport_protocol', path) || undefined,
    application_protocols: strList(o, 'application_protocols', path),
  });
}

function filterChain(v: unknown, path: string): FilterChain {
  const o = asObj(v, path);
  let hcm: HttpConnectionManager | undefined;
  const filters = list(o, 'filters', path).map((f, i): TypedExtension => {
    const fp = at(at(path, 'filters'), i);
    const fo = asObj(f, fp);
    const name = str(fo, 'name', fp);
    if (fo['config_discovery'] !== undefined) fail(at(fp, 'config_discovery'), 'filter config discovery (ECDS) is not supported');
    if (fo['typed_config'] === undefined) return { name, type_url: '' };
    const tp = at(fp, 'typed_config');
    const any = anyValue(fo['typed_config'], tp);
    if (typeName(any) === HCM_TYPE) {
      const model = httpConnectionManager(decodeKnown(any, tp)!, tp);
      hcm ??= model;
      return { name, type_url: any.type_url, config: model };
    }
    return { name, type_url: any.type_url, opaque: opaque(any) };
  });
  const fcm = optObj(o, 'filter_chain_match', path);
  const ts = optObj(o, 'transport_socket', path);
  return compact({
    name: optStr(o, 'name', path) || undefined,
    filter_chain_match: fcm ? filterChainMatch(fcm, at(path, 'filter_chain_match')) : undefined,
    http_connection_manager: hcm,
    filters,
    transport_socket: ts ? transportSocket(ts, at(path, 'transport_socket')) : undefined,
  });
}

/** envoy.config.listener.v3.Listener: client-side api_listener or server-side filter chains (gRFC A27 / A36). */
export function listener(o: Obj, path = ''): Listener {
  const addr = optObj(o, 'address', path);
  const api = optObj(o, 'api_listener', path);
  let api_listener: HttpConnectionManager | undefined;
  if (api) {
    const ap = at(path, 'api_listener');
    if (api['api_listener'] === undefined) fail(at(ap, 'api_listener'), 'api_listener is required');
    const any = anyValue(api['api_listener'], at(ap, 'api_listener'));
    if (typeName(any) !== HCM_TYPE) fail(at(ap, 'api_listener'), `expected an HttpConnectionManager, got ${typeName(any)}`);
    // The common client-side HCM without protobufjs (same model); anything else through its proto.
    api_listener = decodeHttpConnectionManagerWire(any.value) ?? httpConnectionManager(decodeKnown(any, at(ap, 'api_listener'))!, at(ap, 'api_listener'));
  }
  const dfc = optObj(o, 'default_filter_chain', path);
  // filter_chain_matcher (the unified matcher API) is not modelled: consumers select among
  // filter_chains by filter_chain_match, which Istio still populates alongside it.
  return compact({
    name: str(o, 'name', path),
    address: addr ? address(addr, at(path, 'address'), true) : undefined,
    api_listener,
    filter_chains: list(o, 'filter_chains', path).map((fc, i) => filterChain(fc, at(at(path, 'filter_chains'), i))),
    default_filter_chain: dfc ? filterChain(dfc, at(path, 'default_filter_chain')) : undefined,
  });
}

/** LDS: envoy.config.listener.v3.Listener. */
export const ListenerResource: ResourceType<Listener> = defineResourceType({
  typeUrl: LISTENER_TYPE_URL,
  shortName: 'LDS',
  allResourcesRequiredInSotW: true,
  nameField: 'name',
  validate: (o) => listener(o),
  decodeWire: decodeListenerWire,
});
