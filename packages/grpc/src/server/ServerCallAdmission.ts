import { status as Status, type Metadata } from '@grpc/grpc-js';
import { RouteTable, type FaultDecision, type PeerPrincipal, type RbacDecision } from '@meshlet/core';
import { MetadataHeaders } from '../MetadataHeaders.js';
import { grpcStatusForHttp } from '../HttpToGrpcStatus.js';
import { RouteConfigState } from './RouteConfigWatches.js';
import type { PerRouteFilterConfigs } from './ServerHttpFilters.js';
import type { ServerFilterChain } from './ServerFilterChain.js';

/** What the server knows about the connection a call arrived on. */
export interface ConnectionFacts {
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** Verified client certificate identity on TLS chains (gRFC A41 `authenticated`); undefined on plaintext. */
  readonly principal: PeerPrincipal | undefined;
}

/** One call as it arrives. */
export interface IncomingCall {
  /** `/package.Service/Method` */
  readonly path: string;
  readonly authority: string;
  readonly metadata: Metadata;
}

export type Admission =
  | { readonly kind: 'reject'; readonly code: Status; readonly details: string; readonly delayMs: number; readonly rbac?: RbacDecision & { readonly filter: string } }
  | { readonly kind: 'accept'; readonly delayMs: number; readonly faults: readonly FaultDecision[] };

const ACCEPT: Admission = Object.freeze({ kind: 'accept', delayMs: 0, faults: [] });

/**
 * Decides one call on an xDS server: the chain's routes must match it with a route whose action is
 * NonForwardingAction (gRFC A36: no route, or any other action, fails the call UNAVAILABLE), then the
 * HCM's HTTP filters run in order with the matched route's per-filter overrides: RBAC (gRFC A41;
 * deny = PERMISSION_DENIED) and fault injection (delay, abort).
 */
export function admitCall(
  chain: ServerFilterChain,
  routes: RouteTable | RouteConfigState | undefined,
  perRoute: PerRouteFilterConfigs,
  conn: ConnectionFacts,
  call: IncomingCall,
  random: () => number = Math.random,
): Admission {
  const table = routes instanceof RouteTable ? routes : routes?.table;
  if (table === undefined) {
    const why = routes instanceof RouteConfigState ? (routes.error ?? `RouteConfiguration ${routes.name} not received yet`) : 'no routes';
    return reject(Status.UNAVAILABLE, why);
  }
  // gRFC A41: the RBAC `:method` is POST; header matchers see the pseudo-headers too.
  const headers = new MetadataHeaders(call.metadata, { ':path': call.path, ':method': 'POST', ':authority': call.authority, ':scheme': conn.principal === undefined ? 'http' : 'https' });
  const matched = table.match({ authority: call.authority, path: call.path, method: 'POST', headers, isGrpc: true }, random);
  if (matched === undefined) return reject(Status.UNAVAILABLE, 'no matching route');
  if (matched.route.action !== 'non_forwarding') return reject(Status.UNAVAILABLE, 'the matched route has no NonForwardingAction');
  if (chain.filters.length === 0) return ACCEPT;

  const routeOverrides = matched.route.route.typed_per_filter_config;
  const vhOverrides = matched.virtualHost.virtualHost.typed_per_filter_config;
  let delayMs = 0;
  const faults: FaultDecision[] = [];
  const releaseAll = (): void => faults.forEach((f) => f.release());
  for (const filter of chain.filters) {
    if (filter.kind === 'rbac') {
      const engine = perRoute.rbac(filter, routeOverrides, vhOverrides);
      if (engine === undefined) continue;
      const d = engine.evaluate({
        path: call.path,
        method: 'POST',
        authority: call.authority,
        headers,
        sourceIp: conn.sourceIp,
        sourcePort: conn.sourcePort,
        destinationIp: conn.destinationIp,
        destinationPort: conn.destinationPort,
        ...(conn.principal !== undefined ? { principal: conn.principal } : {}),
      });
      if (!d.allowed) {
        releaseAll();
        // Envoy's local reply text; the policy name goes to the log only (it describes the config).
        return { kind: 'reject', code: Status.PERMISSION_DENIED, details: 'RBAC: access denied', delayMs, rbac: { ...d, filter: filter.name } };
      }
    } else {
      const injector = perRoute.fault(filter, routeOverrides, vhOverrides);
      const f = injector?.evaluate(headers, '', random);
      if (f === undefined) continue;
      faults.push(f);
      delayMs += f.delayMs;
      if (f.abortGrpcStatus !== undefined || f.abortHttpStatus !== undefined) {
        releaseAll();
        const code = f.abortGrpcStatus ?? grpcStatusForHttp(f.abortHttpStatus!);
        return { kind: 'reject', code, details: 'fault filter abort', delayMs };
      }
    }
  }
  return delayMs === 0 && faults.length === 0 ? ACCEPT : { kind: 'accept', delayMs, faults };
}

function reject(code: Status, details: string): Admission {
  return { kind: 'reject', code, details, delayMs: 0 };
}
