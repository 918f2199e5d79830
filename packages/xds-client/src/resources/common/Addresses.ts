import { isIP } from 'node:net';
import type { SocketAddress } from '../model.js';
import { asObj, at, fail, optEnum, optObj, optUint, str, type Obj } from './ObjectReader.js';

/** envoy.config.core.v3.SocketAddress; named ports and custom resolvers are not supported. */
export function socketAddress(o: Obj, path: string): SocketAddress {
  if (o['named_port'] !== undefined) fail(at(path, 'named_port'), 'named ports are not supported');
  if (typeof o['resolver_name'] === 'string' && o['resolver_name'] !== '') fail(at(path, 'resolver_name'), 'custom resolvers are not supported');
  const address = str(o, 'address', path);
  if (address === '') fail(at(path, 'address'), 'address is required');
  const port_value = optUint(o, 'port_value', path) ?? 0;
  if (port_value > 65535) fail(at(path, 'port_value'), 'port must be at most 65535');
  const protocol = optEnum(o, 'protocol', path, ['TCP', 'UDP'] as const);
  return protocol === undefined ? { address, port_value } : { address, port_value, protocol };
}

/**
 * envoy.config.core.v3.Address -> SocketAddress, or undefined for pipe / internal
 * addresses when `allowOther` (listeners may use them; endpoints may not).
 */
export function address(v: unknown, path: string, allowOther: boolean): SocketAddress | undefined {
  const o = asObj(v, path);
  const sa = optObj(o, 'socket_address', path);
  if (sa) return socketAddress(sa, at(path, 'socket_address'));
  if (allowOther) return undefined;
  const kind = Object.keys(o).find((k) => o[k] !== undefined) ?? 'nothing';
  fail(path, `only socket_address is supported (got ${kind})`);
}

/** An IP address literal (for CIDR ranges). */
export function isIpLiteral(s: string): boolean {
  return isIP(s) !== 0;
}
