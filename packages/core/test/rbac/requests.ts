import type { RbacRequest } from '../../src/rbac/index.js';

/** A gRPC request from an Istio workload, overridable per test. */
export function grpcRequest(over: Partial<RbacRequest> & { headerValues?: Record<string, string> } = {}): RbacRequest {
  const { headerValues = {}, ...rest } = over;
  const headers = new Map(Object.entries({ 'content-type': 'application/grpc', ...headerValues }));
  return {
    path: '/pkg.Greeter/SayHello',
    method: 'POST',
    authority: 'greeter.default.svc.cluster.local:50051',
    headers: { get: (n) => headers.get(n) },
    sourceIp: '10.1.2.3',
    sourcePort: 40000,
    destinationIp: '10.9.8.7',
    destinationPort: 50051,
    principal: { uriSans: ['spiffe://cluster.local/ns/default/sa/sleep'], dnsSans: [] },
    ...rest,
  };
}
