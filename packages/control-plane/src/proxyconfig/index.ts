export type { ClusterView, EndpointView, ListenerView, OutlierView, ProxyConfigView, RetryView, RouteActionView, RouteConfigView, RouteView, VirtualHostView } from './ProxyConfigView.js';
export { buildProxyConfigView } from './buildProxyConfigView.js';
export { formatProxyConfig } from './formatProxyConfig.js';
export { ProxyConfigError, resolveProxyConfigFromMeshFile, resolveProxyConfigFromXds, type ResolveProxyConfigOptions } from './resolveProxyConfig.js';
export { proxyConfigCommand, PROXY_CONFIG_USAGE } from './proxyConfigCommand.js';
