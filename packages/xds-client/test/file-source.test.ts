import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../src/file/FileSource.js';
import { loadResourceFile, ResourceFileError } from '../src/file/ResourceFile.js';
import { ClusterResource } from '../src/resources/cluster/ClusterResource.js';
import { RouteConfigurationResource } from '../src/resources/route/RouteConfigurationResource.js';
import type { Cluster } from '../src/resources/model.js';

const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

function clusterYaml(name: string, timeout = '1s', extra = ''): string {
  return `- "@type": ${CLUSTER}\n  name: ${name}\n  type: EDS\n  connectTimeout: ${timeout}\n${extra}`;
}

interface Event {
  kind: 'resource' | 'error' | 'absent';
  value?: unknown;
}

function recorder() {
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  return {
    events,
    watcher: {
      onResource: (r: unknown) => {
        events.push({ kind: 'resource', value: r });
        wake?.();
      },
      onError: (e: Error) => {
        events.push({ kind: 'error', value: e });
        wake?.();
      },
      onDoesNotExist: () => {
        events.push({ kind: 'absent' });
        wake?.();
      },
    },
    /** Resolves when at least n events have arrived (fails the test after 3 s). */
    async until(n: number): Promise<void> {
      const deadline = Date.now() + 3000;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} events, got ${JSON.stringify(events.map((e) => e.kind))}`);
        await new Promise<void>((res) => {
          wake = res;
          setTimeout(res, 50);
        });
      }
    },
  };
}

let dir: string;
let source: FileSource | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshlet-fs-'));
});
afterEach(() => {
  source?.close();
  source = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('loadResourceFile', () => {
  it('loads a YAML list, grouped by type', async () => {
    const f = join(dir, 'r.yaml');
    writeFileSync(f, `${clusterYaml('a')}\n- "@type": ${ROUTE}\n  name: rc\n  virtualHosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: a}}]}]\n`);
    const loaded = await loadResourceFile(f);
    expect(loaded.get(ClusterResource, 'a')?.connect_timeout).toBe(1000);
    expect(loaded.get(RouteConfigurationResource, 'rc')?.virtual_hosts[0]?.routes[0]?.route?.cluster).toBe('a');
    expect(loaded.names(ClusterResource)).toEqual(['a']);
  });

  it('loads a DiscoveryResponse-like JSON with type_url and items without @type, snake_case', async () => {
    const f = join(dir, 'r.json');
    writeFileSync(f, JSON.stringify({ type_url: CLUSTER, resources: [{ name: 'a', type: 'EDS', eds_cluster_config: { service_name: 'svc' } }] }));
    const loaded = await loadResourceFile(f);
    expect(loaded.get(ClusterResource, 'a')?.eds_service_name).toBe('svc');
  });

  it('loads a single resource document', async () => {
    const f = join(dir, 'one.yaml');
    writeFileSync(f, `"@type": ${CLUSTER}\nname: solo\n`);
    expect((await loadResourceFile(f)).get(ClusterResource, 'solo')?.type).toBe('STATIC');
  });

  it('rejects a bad resource naming the file, resource and field path', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, clusterYaml('a', '-1s'));
    const err = await loadResourceFile(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceFileError);
    expect((err as ResourceFileError).file).toBe(f);
    expect((err as ResourceFileError).resourceName).toBe('a');
    expect((err as ResourceFileError).fieldPath).toBe('connect_timeout');
    expect((err as Error).message).toContain(f);
  });

  it('rejects duplicates and unparsable text', async () => {
    const f = join(dir, 'dup.yaml');
    writeFileSync(f, `${clusterYaml('a')}\n${clusterYaml('a')}`);
    await expect(loadResourceFile(f)).rejects.toThrow(/duplicate CDS resource/);
    writeFileSync(f, 'resources: [unclosed');
    await expect(loadResourceFile(f)).rejects.toThrow(/cannot parse/);
  });
});

describe('FileSource', () => {
  it('delivers, reloads on change, keeps last good on a bad file, reports deletion of a resource', async () => {
    const f = join(dir, 'clusters.yaml');
    writeFileSync(f, `${clusterYaml('a')}\n${clusterYaml('b')}`);
    source = new FileSource(f, { debounceMs: 20 });
    const a = recorder();
    const b = recorder();
    source.watch(ClusterResource, 'a', a.watcher);
    source.watch(ClusterResource, 'b', b.watcher);
    await a.until(1);
    expect((a.events[0]!.value as Cluster).connect_timeout).toBe(1000);

    // Rewrite: a changes, b unchanged -> only a's watcher fires.
    writeFileSync(f, `${clusterYaml('a', '2s')}\n${clusterYaml('b')}`);
    await a.until(2);
    expect((a.events[1]!.value as Cluster).connect_timeout).toBe(2000);

    // Break: bad duration. Both watchers get onError naming the file; nothing else changes.
    writeFileSync(f, `${clusterYaml('a', 'soon')}\n${clusterYaml('b')}`);
    await a.until(3);
    const err = a.events[2]!.value as ResourceFileError;
    expect(a.events[2]!.kind).toBe('error');
    expect(err.file).toBe(f);
    expect(err.message).toContain('connect_timeout');
    expect(err.message).toContain('a:');

    // Fix the file and drop b: a gets the new value, b is reported as deleted.
    writeFileSync(f, clusterYaml('a', '3s'));
    await a.until(4);
    await b.until(3);
    expect((a.events[3]!.value as Cluster).connect_timeout).toBe(3000);
    expect(b.events.map((e) => e.kind)).toEqual(['resource', 'error', 'absent']);
  });

  it('tolerates editors that replace the file by rename, and a missing file keeps last good', async () => {
    const f = join(dir, 'c.yaml');
    writeFileSync(f, clusterYaml('a'));
    source = new FileSource(f, { debounceMs: 20 });
    const a = recorder();
    source.watch(ClusterResource, 'a', a.watcher);
    await a.until(1);
    const tmp = join(dir, '.c.yaml.swp');
    writeFileSync(tmp, clusterYaml('a', '5s'));
    renameSync(tmp, f);
    await a.until(2);
    expect((a.events[1]!.value as Cluster).connect_timeout).toBe(5000);
    unlinkSync(f);
    await a.until(3);
    expect(a.events[2]!.kind).toBe('error');
    expect(String(a.events[2]!.value)).toMatch(/cannot read/);
  });

  it('reports a watched name that is not in the file as does-not-exist, and late watchers get the current state', async () => {
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify([{ '@type': CLUSTER, name: 'a' }]));
    source = new FileSource(f, { debounceMs: 20 });
    await source.ready();
    const missing = recorder();
    const late = recorder();
    source.watch(ClusterResource, 'nope', missing.watcher);
    source.watch(ClusterResource, 'a', late.watcher);
    await missing.until(1);
    await late.until(1);
    expect(missing.events[0]!.kind).toBe('absent');
    expect(late.events[0]!.kind).toBe('resource');
  });

  it('dispose and abort signals stop deliveries', async () => {
    const f = join(dir, 'c.yaml');
    writeFileSync(f, clusterYaml('a'));
    source = new FileSource(f, { debounceMs: 10 });
    await source.ready();
    const r1 = recorder();
    const r2 = recorder();
    const ac = new AbortController();
    const h = source.watch(ClusterResource, 'a', r1.watcher);
    source.watch(ClusterResource, 'a', r2.watcher, { signal: ac.signal });
    await r1.until(1);
    await r2.until(1);
    h.dispose();
    ac.abort();
    writeFileSync(f, clusterYaml('a', '9s'));
    await source.reload();
    expect(r1.events).toHaveLength(1);
    expect(r2.events).toHaveLength(1);
  });
});
