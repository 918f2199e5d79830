import { listenerName, routeConfigName, virtualHostDomains, virtualHostName } from './IstioNames.js';
import { typedConfig, type ProtoObject } from './ProtoObjects.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/**
 * The client-side listener istiod's grpc generator sends for `HOST:PORT`: an
 * api_listener HttpConnectionManager that takes its routes over ADS (RDS name
 * `outbound|PORT||HOST`) and runs the fault filter before the router.
 */
export function buildOutboundListener(host: string, port: number, address: string | undefined): ProtoObject {
  const hcm: ProtoObject = {
    http_filters: [
      { name: 'envoy.filters.http.fault', typed_config: typedConfig('envoy.extensions.filters.http.fault.v3.HTTPFault', {}) },
      { name: 'envoy.filters.http.router', typed_config: typedConfig('envoy.extensions.filters.http.router.v3.Router', {}) },
    ],
    rds: { config_source: { ads: {} }, route_config_name: routeConfigName(host, port) },
  };
  return {
    name: listenerName(host, port),
    address: { socket_address: { address: address ?? '0.0.0.0', port_value: port } },
    api_listener: { api_listener: typedConfig(HCM, hcm) },
  };
}

/** The RouteConfiguration for one host:port, with one virtual host. */
export function buildRouteConfiguration(host: string, port: number, namespace: string | undefined, routes: ProtoObject[]): ProtoObject {
  return {
    name: routeConfigName(host, port),
    virtual_hosts: [{ name: virtualHostName(host, port), domains: virtualHostDomains(host, port, namespace), routes }],
  };
}
