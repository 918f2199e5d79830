import { isIP } from 'node:net';
import type { Host } from '../cluster/Host.js';

/**
 * The upstream host's name for RouteAction.auto_host_rewrite: the endpoint's `hostname` when EDS sets
 * one, else the address itself when it is a DNS name (STRICT_DNS / LOGICAL_DNS clusters connect by
 * name); undefined for a bare IP, where Envoy leaves the Host header as it was.
 */
export function upstreamHostnameOf(host: Host): string | undefined {
  const name = host.hostname;
  if (name !== undefined && name !== '') return name;
  return isIP(host.address) === 0 ? host.address : undefined;
}
