import { describe, expect, it } from 'vitest';
import { listeningAddressText, serverListenerResourceName } from '../src/server/index.js';
import { parseBindTarget } from '../src/server/ServerListenerName.js';

describe('server Listener resource names (gRFC A36 / A47)', () => {
  it('formats the bound address as ip:port, IPv6 in brackets, wildcards kept', () => {
    expect(listeningAddressText('0.0.0.0', 8080)).toBe('0.0.0.0:8080');
    expect(listeningAddressText('::', 8080)).toBe('[::]:8080');
    expect(listeningAddressText('127.0.0.1', 50051)).toBe('127.0.0.1:50051');
  });

  it("fills Istio's template as is and percent-encodes for xdstp templates", () => {
    expect(serverListenerResourceName('xds.istio.io/grpc/lds/inbound/%s', '[::]:8080')).toBe('xds.istio.io/grpc/lds/inbound/[::]:8080');
    expect(serverListenerResourceName('xdstp://td/envoy.config.listener.v3.Listener/grpc/server/%s', '[::]:8080')).toBe(
      'xdstp://td/envoy.config.listener.v3.Listener/grpc/server/%5B::%5D:8080',
    );
  });

  it('parses grpc-js bind targets', () => {
    expect(parseBindTarget('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseBindTarget('[::]:50051')).toEqual({ host: '::', port: 50051 });
    expect(parseBindTarget('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseBindTarget('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(parseBindTarget(':9000')).toEqual({ host: '::', port: 9000 });
    expect(() => parseBindTarget('no-port')).toThrow(/host:port/);
  });
});
