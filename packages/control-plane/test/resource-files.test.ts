import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterResource, ResourceFileError, XdsClient, silentLogger, type Cluster } from '@meshlet/xds-client';
import { AdsServer, publishResourceFiles } from '@meshlet/control-plane';
import { FIXTURE_DIR } from '../../xds-client/test/helpers/fixture-extract.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

describe('publishResourceFiles', () => {
  it('serves a real Envoy Gateway clusters file over ADS to an XdsClient', async () => {
    // The golden file is a bare list of Clusters (typed by its name); a resource file says "@type".
    const clusters = parse(readFileSync(join(FIXTURE_DIR, 'envoy-gateway-traffic-settings-outlier-cb.clusters.yaml'), 'utf8')) as object[];
    const file = join(mkdtempSync(join(tmpdir(), 'meshlet-rf-')), 'clusters.yaml');
    writeFileSync(file, stringify(clusters.map((c) => ({ '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...c }))));
    const server = new AdsServer();
    const { counts } = publishResourceFiles(server, [file]);
    expect(counts).toEqual({ Cluster: clusters.length });
    const { port } = await server.listen(0);
    const client = new XdsClient({
      logger: silentLogger,
      bootstrap: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'test' } },
    });
    closers.push(() => server.close(), () => client.close());
    const cluster = await new Promise<Cluster>((resolve, reject) => {
      client.watch(ClusterResource, 'envoyextensionpolicy/default/policy-for-http-route/0', { onResource: resolve, onDoesNotExist: () => reject(new Error('missing')) });
    });
    expect(cluster.outlier_detection).toMatchObject({ consecutive_5xx: 5, consecutive_gateway_failure: 4, interval: 5000, base_ejection_time: 30000, max_ejection_percent: 10 });
    expect(cluster.circuit_breakers?.thresholds[0]?.max_retries).toBe(1024);
  });

  it('rejects a bad file naming file, resource and field, and publishes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshlet-rf-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, ['- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster', '  name: c1', '  connectTimeout: 1s', '  outlierDetection:', '    maxEjectionPercent: 150'].join('\n'));
    const server = new AdsServer();
    let published = 0;
    server.setResources = () => void published++;
    expect(() => publishResourceFiles(server, [file])).toThrow(ResourceFileError);
    expect(() => publishResourceFiles(server, [file])).toThrow(/bad\.yaml.*c1.*outlier_detection\.max_ejection_percent/s);
    expect(published).toBe(0);
  });
});
