import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { grpcStatusForHttp, meshTargetOf, statusForLocalReply } from '@meshlet/grpc';

describe('meshTargetOf (gRFC A27 listener names)', () => {
  it('takes the listener name from xds:/// targets and plain host:port', () => {
    expect(meshTargetOf('xds:///greeter.default.svc.cluster.local:50051')).toBe('greeter.default.svc.cluster.local:50051');
    expect(meshTargetOf('xds:greeter.test:1')).toBe('greeter.test:1');
    expect(meshTargetOf('greeter.test:50051')).toBe('greeter.test:50051');
  });

  it('names listeners per gRFC A47: authority templates (percent-encoded xdstp paths) and the default template', () => {
    const naming = {
      client_default_listener_resource_name_template: 'xdstp://default.example/envoy.config.listener.v3.Listener/%s',
      authorities: {
        'td.example': { xds_servers: [], client_listener_resource_name_template: '' },
        'custom.example': { xds_servers: [], client_listener_resource_name_template: 'xdstp://custom.example/envoy.config.listener.v3.Listener/grpc/%s' },
      },
    };
    expect(meshTargetOf('xds://td.example/greeter.test:50051', naming)).toBe('xdstp://td.example/envoy.config.listener.v3.Listener/greeter.test:50051');
    expect(meshTargetOf('xds://custom.example/a b?c', naming)).toBe('xdstp://custom.example/envoy.config.listener.v3.Listener/grpc/a%20b%3Fc');
    expect(meshTargetOf('xds:///greeter.test:50051', naming)).toBe('xdstp://default.example/envoy.config.listener.v3.Listener/greeter.test:50051');
    expect(meshTargetOf('xds:///greeter.test:50051', { client_default_listener_resource_name_template: '%s', authorities: {} })).toBe('greeter.test:50051');
  });

  it('refuses authorities the bootstrap does not list, other schemes and empty names', () => {
    expect(() => meshTargetOf('xds://traffic-director/greeter:1')).toThrow(/authority "traffic-director".*does not list/);
    expect(() => meshTargetOf('dns:///greeter:1')).toThrow(/not an xds/);
    expect(() => meshTargetOf('xds:///')).toThrow(/names no listener/);
    expect(() => meshTargetOf('')).toThrow(/empty/);
  });
});

describe('gRPC status of local replies (gRFC A33 http_status mapping)', () => {
  it('maps HTTP statuses as gRPC\'s HTTP-to-gRPC table does', () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500, 418].map(grpcStatusForHttp)).toEqual([
      status.INTERNAL,
      status.UNAUTHENTICATED,
      status.PERMISSION_DENIED,
      status.UNIMPLEMENTED,
      status.UNAVAILABLE,
      status.UNAVAILABLE,
      status.UNAVAILABLE,
      status.UNAVAILABLE,
      status.UNKNOWN,
      status.UNKNOWN,
    ]);
  });

  it('prefers grpc_status over http_status and names the target and flags', () => {
    const s = statusForLocalReply({ status: 503, grpcStatus: status.RESOURCE_EXHAUSTED, body: 'fault filter abort', flags: ['FI'] }, 'a.test:1');
    expect(s.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(s.details).toBe('meshlet: a.test:1: fault filter abort (FI)');
    expect(s.metadata.get('x-meshlet-response-flags')).toEqual(['FI']);
  });
});
