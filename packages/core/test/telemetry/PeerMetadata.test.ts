import { describe, expect, it } from 'vitest';
import { envoyRoot } from '@meshlet/xds-client';
import { istioPeerMetadataHeaders } from '../../src/telemetry/PeerMetadata.js';
import { decorateAttemptHeaders } from '../../src/telemetry/AttemptHeaders.js';
import { Host } from '../../src/cluster/Host.js';
import type { AttemptRequest } from '../../src/call/AttemptTransport.js';
import { MapHeaders } from './engineHarness.js';

describe('istioPeerMetadataHeaders', () => {
  it('encodes a google.protobuf.Struct keyed by Istio node metadata names, base64', () => {
    const h = istioPeerMetadataHeaders({
      name: 'productpage-v1-abc',
      namespace: 'default',
      workloadName: 'productpage-v1',
      labels: { app: 'productpage', version: 'v1' },
      instanceIp: '10.1.2.3',
      clusterId: 'Kubernetes',
    });
    expect(h['x-envoy-peer-metadata-id']).toBe('sidecar~10.1.2.3~productpage-v1-abc.default~default.svc.cluster.local');
    const Struct = envoyRoot().lookupType('google.protobuf.Struct');
    const decoded = Struct.toObject(Struct.decode(Buffer.from(h['x-envoy-peer-metadata'], 'base64'))) as { fields: Record<string, { stringValue?: string; structValue?: { fields: Record<string, { stringValue: string }> } }> };
    const f = decoded.fields;
    expect(f['NAME']?.stringValue).toBe('productpage-v1-abc');
    expect(f['NAMESPACE']?.stringValue).toBe('default');
    expect(f['WORKLOAD_NAME']?.stringValue).toBe('productpage-v1');
    expect(f['INSTANCE_IPS']?.stringValue).toBe('10.1.2.3');
    expect(f['CLUSTER_ID']?.stringValue).toBe('Kubernetes');
    expect(f['LABELS']?.structValue?.fields['app']?.stringValue).toBe('productpage');
    expect(f['LABELS']?.structValue?.fields['version']?.stringValue).toBe('v1');
  });

  it('is added to outbound attempt headers when configured', () => {
    const peerMetadata = istioPeerMetadataHeaders({ name: 'p', namespace: 'ns', workloadName: 'w', nodeId: 'sidecar~1.1.1.1~p.ns~ns.svc.cluster.local' });
    const attempt = { host: new Host('10.0.0.1', 80), attemptCount: 1 } as AttemptRequest;
    const headers = new MapHeaders();
    decorateAttemptHeaders(headers, attempt, undefined, { peerMetadata });
    expect(headers.get('x-envoy-peer-metadata-id')).toBe('sidecar~1.1.1.1~p.ns~ns.svc.cluster.local');
    expect(headers.get('x-envoy-peer-metadata')).toBe(peerMetadata['x-envoy-peer-metadata']);
    const plain = new MapHeaders();
    decorateAttemptHeaders(plain, attempt, undefined);
    expect(plain.get('x-envoy-peer-metadata')).toBeUndefined();
    // No tracing SDK registered in this file: nothing to propagate, and nothing is written.
    expect(plain.get('traceparent')).toBeUndefined();
    expect(plain.get('x-request-id')).toBeDefined();
  });
});
