import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { conversionRoot, envoyRoot } from '../src/proto/EnvoyProtos.js';
import { typeNamesOf } from '../src/proto/DescriptorRoot.js';
import { fromProto3Json } from '../src/proto/ProtoJson.js';
import { ClusterResource } from '../src/resources/cluster/ClusterResource.js';
import { ListenerResource } from '../src/resources/listener/ListenerResource.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const cluster = {
  name: 'outbound|9080|v1|reviews',
  type: 'EDS',
  eds_cluster_config: { eds_config: { ads: {} }, service_name: 'outbound|9080|v1|reviews' },
  connect_timeout: '1s',
  outlier_detection: { consecutive_5xx: 5, interval: '10s' },
  circuit_breakers: { thresholds: [{ max_connections: 1024 }] },
};
const listener = {
  name: 'reviews:9080',
  api_listener: {
    api_listener: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      rds: { route_config_name: 'r', config_source: { ads: {} } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    },
  },
};

describe('proto3 JSON conversion root', () => {
  it('builds the reflection of converted messages apart from the shared root, which gains none of them', () => {
    const before = new Set(typeNamesOf(envoyRoot()));
    const c = ClusterResource.fromObject(fromProto3Json(ClusterResource.typeUrl, cluster)).resource;
    const l = ListenerResource.fromObject(fromProto3Json(ListenerResource.typeUrl, listener)).resource;
    expect(c.outlier_detection).toMatchObject({ consecutive_5xx: 5, interval: 10_000 });
    expect(l.api_listener?.rds).toStrictEqual({ route_config_name: 'r', config_source_ads: true });
    expect(conversionRoot()).not.toBe(envoyRoot());
    expect(typeNamesOf(conversionRoot())).toContain('envoy.config.cluster.v3.Cluster');
    const added = typeNamesOf(envoyRoot()).filter((n) => !before.has(n));
    expect(added.filter((n) => n.startsWith('envoy.config.cluster') || n.startsWith('envoy.config.listener'))).toStrictEqual([]);
  });

  it('is collected once no conversion holds it, and the next conversion builds another', async () => {
    const ref = new WeakRef(conversionRoot());
    // No deref() between collections: a WeakRef's target is kept alive until the job that read it ends.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 0));
      gc();
    }
    expect(ref.deref()).toBeUndefined();
    expect(fromProto3Json(ClusterResource.typeUrl, cluster)).toMatchObject({ name: cluster.name });
    expect(conversionRoot()).not.toBe(envoyRoot());
  });
});
