import { describe, expect, it } from 'vitest';
import type { FilterChain, FilterChainMatch, Listener } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { FilterChainSelector } from '../../src/server/index.js';
import type { ConnectionInfo } from '../../src/server/index.js';
import { istioListener } from '../rbac/istioFixture.js';

function match(m: Partial<FilterChainMatch>): FilterChainMatch {
  return { prefix_ranges: [], source_prefix_ranges: [], source_ports: [], server_names: [], application_protocols: [], ...m };
}
function chain(name: string, m?: Partial<FilterChainMatch>): FilterChain {
  return { name, filters: [], ...(m ? { filter_chain_match: match(m) } : {}) };
}
function listener(chains: FilterChain[], dflt?: FilterChain): Listener {
  return { name: 'l', filter_chains: chains, ...(dflt ? { default_filter_chain: dflt } : {}) };
}
const cidr = (address_prefix: string, prefix_len: number) => ({ address_prefix, prefix_len });
function conn(over: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return { destinationIp: '10.0.0.5', destinationPort: 8080, sourceIp: '10.1.1.1', sourcePort: 40000, ...over };
}

describe('FilterChainSelector (gRFC A36 mode)', () => {
  const chains = [
    chain('dst-any'),
    chain('dst-10/8', { prefix_ranges: [cidr('10.0.0.0', 8)] }),
    chain('dst-10.0.0/24', { prefix_ranges: [cidr('10.0.0.0', 24)], source_type: 'EXTERNAL' }),
    chain('dst-10.0.0/24-local', { prefix_ranges: [cidr('10.0.0.0', 24)], source_type: 'SAME_IP_OR_LOOPBACK' }),
    chain('dst-v6', { prefix_ranges: [cidr('fd00::', 8)] }),
    chain('dst-192/16-src', { prefix_ranges: [cidr('192.168.0.0', 16)], source_prefix_ranges: [cidr('172.16.0.0', 12)] }),
    chain('dst-192/16-src-port', { prefix_ranges: [cidr('192.168.0.0', 16)], source_prefix_ranges: [cidr('172.16.5.0', 24)], source_ports: [5000] }),
  ];
  const sel = FilterChainSelector.compile(listener(chains, chain('default')));
  it.each<[string, Partial<ConnectionInfo>, string | undefined]>([
    ['most specific destination prefix, EXTERNAL source', {}, 'dst-10.0.0/24'],
    ['same IP as destination is SAME_IP_OR_LOOPBACK', { sourceIp: '10.0.0.5' }, 'dst-10.0.0/24-local'],
    ['loopback source', { destinationIp: '10.0.0.9', sourceIp: '127.0.0.1' }, 'dst-10.0.0/24-local'],
    ['IPv4-mapped addresses are IPv4', { destinationIp: '::ffff:10.0.0.5', sourceIp: '::ffff:10.1.1.1' }, 'dst-10.0.0/24'],
    ['less specific /8', { destinationIp: '10.200.0.1' }, 'dst-10/8'],
    ['no range matches: chain without prefix_ranges', { destinationIp: '8.8.8.8' }, 'dst-any'],
    ['IPv6 destination', { destinationIp: 'fd12::1', sourceIp: 'fd12::2' }, 'dst-v6'],
    ['IPv6 outside ranges', { destinationIp: '2001:db8::1', sourceIp: '2001:db8::2' }, 'dst-any'],
    ['most specific source prefix, any port', { destinationIp: '192.168.1.1', sourceIp: '172.16.9.9' }, 'dst-192/16-src'],
    ['most specific source prefix with exact source port', { destinationIp: '192.168.1.1', sourceIp: '172.16.5.9', sourcePort: 5000 }, 'dst-192/16-src-port'],
    // Envoy does not backtrack: the /24 source branch has only port 5000, so other ports match nothing
    // even though the /12 branch would have accepted them.
    ['no backtracking to a less specific source prefix', { destinationIp: '192.168.1.1', sourceIp: '172.16.5.9', sourcePort: 6000 }, undefined],
    ['no backtracking to a less specific destination prefix', { destinationIp: '192.168.1.1', sourceIp: '8.8.8.8' }, undefined],
    ['unparseable addresses fall to chains without ranges', { destinationIp: 'unix', sourceIp: 'unix' }, 'dst-any'],
  ])('%s', (_n, over, expected) => {
    expect(sel.select(conn(over))?.name).toBe(expected);
    expect(sel.selectOrDefault(conn(over))?.name).toBe(expected ?? 'default');
  });

  it('ignores chains gRPC cannot observe (A36): destination_port, server_names, application_protocols, non-raw_buffer transport', () => {
    const s = FilterChainSelector.compile(
      listener([
        chain('port', { destination_port: 8080 }),
        chain('sni', { server_names: ['a.example.com'] }),
        chain('alpn', { application_protocols: ['h2'] }),
        chain('tls', { transport_protocol: 'tls' }),
        chain('raw', { transport_protocol: 'raw_buffer' }),
      ]),
    );
    expect(s.select(conn({ serverName: 'a.example.com', transportProtocol: 'tls', applicationProtocols: ['h2'] }))?.name).toBe('raw');
  });

  it('a listener with only unobservable chains selects nothing (default chain or reject)', () => {
    const s = FilterChainSelector.compile(listener([chain('port', { destination_port: 8080 })], chain('default')));
    expect(s.select(conn())).toBeUndefined();
    expect(s.selectOrDefault(conn())?.name).toBe('default');
    expect(FilterChainSelector.compile(listener([])).selectOrDefault(conn())).toBeUndefined();
  });

  it('a chain without filter_chain_match matches everything', () => {
    expect(FilterChainSelector.compile(listener([chain('all')])).select(conn({ destinationIp: '::1', sourceIp: '::1' }))?.name).toBe('all');
  });

  it('an explicit 0.0.0.0/0 is more specific than no prefix_ranges', () => {
    const s = FilterChainSelector.compile(listener([chain('none'), chain('zero', { prefix_ranges: [cidr('0.0.0.0', 0)] })]));
    expect(s.select(conn())?.name).toBe('zero');
    expect(s.select(conn({ destinationIp: '::1' }))?.name).toBe('none');
  });
});

describe('duplicate matching rules make the Listener invalid (Envoy, gRFC A36)', () => {
  it.each<[string, FilterChain[]]>([
    ['two chains without criteria', [chain('a'), chain('b')]],
    ['same destination range', [chain('a', { prefix_ranges: [cidr('10.0.0.0', 8)] }), chain('b', { prefix_ranges: [cidr('10.0.0.0', 8)] })]],
    ['same range written differently', [chain('a', { prefix_ranges: [cidr('10.1.0.0', 8)] }), chain('b', { prefix_ranges: [cidr('10.0.0.0', 8)] })]],
    ['overlap in one element of the cross product', [chain('a', { source_ports: [1, 2] }), chain('b', { source_ports: [2, 3] })]],
    ['no match vs empty match', [chain('a'), chain('b', {})]],
    ['same source type and prefix', [chain('a', { source_type: 'EXTERNAL', source_prefix_ranges: [cidr('::', 0)] }), chain('b', { source_type: 'EXTERNAL', source_prefix_ranges: [cidr('::', 0)] })]],
  ])('%s', (_n, chains) => {
    expect(() => FilterChainSelector.compile(listener(chains))).toThrow(ValidationError);
    try {
      FilterChainSelector.compile(listener(chains));
    } catch (e) {
      expect((e as ValidationError).fieldPath).toBe('filter_chains[1].filter_chain_match');
      expect((e as ValidationError).reason).toMatch(/multiple filter chains with the same matching rules/);
    }
  });

  it.each<[string, FilterChain[]]>([
    ['different source types', [chain('a', { source_type: 'EXTERNAL' }), chain('b', { source_type: 'SAME_IP_OR_LOOPBACK' })]],
    ['nested ranges', [chain('a', { prefix_ranges: [cidr('10.0.0.0', 8)] }), chain('b', { prefix_ranges: [cidr('10.0.0.0', 16)] })]],
    ['v4 and v6 zero ranges', [chain('a', { prefix_ranges: [cidr('0.0.0.0', 0)] }), chain('b', { prefix_ranges: [cidr('::', 0)] })]],
  ])('distinct: %s', (_n, chains) => {
    expect(() => FilterChainSelector.compile(listener(chains))).not.toThrow();
  });

  it('in gRPC mode, unobservable chains are dropped before the check', () => {
    const chains = [chain('a'), chain('b', { destination_port: 80 }), chain('c', { destination_port: 80 })];
    expect(() => FilterChainSelector.compile(listener(chains))).not.toThrow();
    expect(() => FilterChainSelector.compile(listener(chains), { mode: 'envoy' })).toThrow(ValidationError);
  });

  it.each<[string, Partial<FilterChainMatch>, string]>([
    ['bad prefix', { prefix_ranges: [cidr('10.0.0.0', 40)] }, 'filter_chains[0].filter_chain_match.prefix_ranges[0].prefix_len'],
    ['bad source prefix', { source_prefix_ranges: [cidr('x', 1)] }, 'filter_chains[0].filter_chain_match.source_prefix_ranges[0].address_prefix'],
    ['bad source port', { source_ports: [70000] }, 'filter_chains[0].filter_chain_match.source_ports[0]'],
    ['bad server name wildcard', { server_names: ['a.*.com'] }, 'filter_chains[0].filter_chain_match.server_names[0]'],
  ])('invalid field: %s', (_n, m, fieldPath) => {
    let err: unknown;
    try {
      FilterChainSelector.compile(listener([chain('a', m)]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldPath).toBe(fieldPath);
  });
});

describe('FilterChainSelector (envoy mode: SNI, transport and ALPN observed)', () => {
  const sel = FilterChainSelector.compile(
    listener([
      chain('port-9000', { destination_port: 9000 }),
      chain('www', { server_names: ['www.example.com'] }),
      chain('wild', { server_names: ['*.example.com'] }),
      chain('wild-com', { server_names: ['*.com'] }),
      chain('no-sni'),
    ]),
    { mode: 'envoy' },
  );
  it.each<[string, Partial<ConnectionInfo>, string | undefined]>([
    ['exact port first', { destinationPort: 9000, serverName: 'www.example.com' }, 'port-9000'],
    ['exact server name', { serverName: 'www.example.com' }, 'www'],
    ['server names are case-insensitive', { serverName: 'WWW.Example.com' }, 'www'],
    ['longest wildcard', { serverName: 'api.example.com' }, 'wild'],
    ['multi-label wildcard', { serverName: 'a.b.example.com' }, 'wild'],
    ['shorter wildcard', { serverName: 'other.com' }, 'wild-com'],
    ['no SNI', {}, 'no-sni'],
    ['unmatched SNI', { serverName: 'example.org' }, 'no-sni'],
  ])('%s', (_n, over, expected) => {
    expect(sel.select(conn(over))?.name).toBe(expected);
  });

  it('ALPN: the first client protocol some chain names wins', () => {
    const s = FilterChainSelector.compile(listener([chain('h2', { application_protocols: ['h2'] }), chain('h1', { application_protocols: ['http/1.1'] }), chain('none')]), { mode: 'envoy' });
    expect(s.select(conn({ applicationProtocols: ['http/1.1', 'h2'] }))?.name).toBe('h1');
    expect(s.select(conn({ applicationProtocols: ['x', 'h2'] }))?.name).toBe('h2');
    expect(s.select(conn({ applicationProtocols: ['x'] }))?.name).toBe('none');
  });
});

describe('Istio sidecar virtualInbound listener (real istiod output)', () => {
  const l = istioListener('virtualInbound');
  const inbound = (over: Partial<ConnectionInfo>) => conn({ destinationIp: '10.244.0.12', destinationPort: 9080, sourceIp: '10.244.0.7', ...over });
  const envoy = FilterChainSelector.compile(l, { mode: 'envoy' });
  it.each<[string, Partial<ConnectionInfo>, { name: string; tls: boolean } | undefined]>([
    ['mTLS HTTP from a sidecar (istio-http ALPN)', { transportProtocol: 'tls', applicationProtocols: ['istio-h2', 'istio', 'h2'] }, { name: 'virtualInbound-catchall-http', tls: true }],
    ['mTLS TCP (istio-peer-exchange)', { transportProtocol: 'tls', applicationProtocols: ['istio-peer-exchange', 'istio'] }, { name: 'virtualInbound', tls: true }],
    ['plaintext HTTP (PERMISSIVE)', { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1'] }, { name: 'virtualInbound-catchall-http', tls: false }],
    ['plaintext TCP', { transportProtocol: 'raw_buffer' }, { name: 'virtualInbound', tls: false }],
    ['TLS without ALPN passes through (TCP)', { transportProtocol: 'tls' }, { name: 'virtualInbound', tls: false }],
    ['explicit port 80 chain, mTLS', { destinationPort: 80, transportProtocol: 'tls', applicationProtocols: ['istio-h2'] }, { name: '0.0.0.0_80', tls: true }],
    ['direct connection to 15006 is blackholed', { destinationPort: 15006 }, { name: 'virtualInbound-blackhole', tls: false }],
  ])('%s', (_n, over, expected) => {
    const fc = envoy.select(inbound(over));
    expect(fc && { name: fc.name, tls: fc.transport_socket !== undefined }).toEqual(expected);
  });

  it('IPv6 connections match no chain (the dump has IPv4 ranges only)', () => {
    expect(envoy.select(inbound({ destinationIp: 'fd00::1', sourceIp: 'fd00::2', transportProtocol: 'raw_buffer' }))).toBeUndefined();
  });

  it('gRPC mode keeps only the plaintext catch-all TCP chain', () => {
    const grpc = FilterChainSelector.compile(l);
    expect(grpc.select(inbound({ transportProtocol: 'tls', applicationProtocols: ['istio'] }))?.name).toBe('virtualInbound');
    expect(grpc.select(inbound({}))?.transport_socket).toBeUndefined();
  });
});
