/**
 * `@meshlet/core/client`: the part of the core a process needs to send its own calls through the
 * mesh (snapshots, routing, clusters and load balancing, the call engine with retries and faults,
 * upstream TLS, client-side tracing and headers). @meshlet/http and @meshlet/grpc's client import
 * from here.
 *
 * Why an entry of its own: `@meshlet/core` also loads what only a server or an operator uses
 * (RBAC, filter chains, downstream TLS, server spans, the admin server, Istio metrics, the CA and
 * CSR tooling), about 50 more modules that a client process would otherwise parse and keep.
 * `@meshlet/core` still exports everything, this included.
 */
export * from './mesh/index.js';
export * from './routing/index.js';
export * from './cluster/index.js';
export * from './call/index.js';

// identity: choosing and making the upstream TLS connection.
export { selectTransportSocket, TRANSPORT_SOCKET_MATCH_NAMESPACE, type ClusterTransportConfig, type SelectedTransportSocket } from './identity/TransportSocketSelector.js';
export { CertificateProviderRegistry, fileWatcherPlugin, type BootstrapCertificateProviders, type CertificateProviderPlugin } from './identity/CertificateProviderRegistry.js';
export { UpstreamTlsFactory, UpstreamTls, type PlaintextTransport, type UpstreamTransport, type UpstreamTlsFactoryOptions } from './identity/UpstreamTlsFactory.js';
export { MeshletTlsError, explainTlsError, type TlsCheck } from './identity/MeshletTlsError.js';
export { ISTIO_ALPN, isIstioAlpn, alpnFor, type HttpProtocol } from './identity/IstioAlpn.js';

// telemetry: what a call adds to its attempts and reports as it runs.
export { CallTrace, type CallStart } from './telemetry/CallTrace.js';
export { MeshTracing, type MeshTracingOptions } from './telemetry/MeshTracing.js';
export { injectTraceContext, type HeaderSetter } from './telemetry/TraceContextInjection.js';
export { decorateAttemptHeaders, decorateAttemptMetadata, type AttemptHeaderOptions, type GrpcMetadataCarrier, type HeaderCarrier, type RequestIdHolder } from './telemetry/AttemptHeaders.js';
export { istioPeerMetadataHeaders, type PeerMetadataHeaders, type WorkloadIdentity } from './telemetry/PeerMetadata.js';
export { combineObservers } from './telemetry/CompositeObserver.js';
export { RoutingDebugObserver, routingDebugObserver, formatRoutingDecision, type RoutingDecision, type RoutingDecisionAttempt, type RoutingDebugObserverOptions } from './telemetry/RoutingDebugObserver.js';
// A client is handed these by the application; the types cost nothing at runtime.
export type { IstioMetrics, IstioMetricsOptions } from './telemetry/IstioMetrics.js';
