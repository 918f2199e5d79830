import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/**
 * The shared real-config fixtures live beside the repository (`../shared/fixtures/xds-real`
 * from the repo root), in development and in CI alike; MESHLET_FIXTURES overrides.
 */
const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
export const FIXTURE_DIR = process.env.MESHLET_FIXTURES ?? resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'xds-real');

export const TYPE_URLS = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

const WANTED = new Set<string>(Object.values(TYPE_URLS));

export interface ExtractedResource {
  readonly file: string;
  /** JSON path of the resource inside the file. */
  readonly location: string;
  readonly typeUrl: string;
  readonly name: string;
  /** proto3 JSON body without "@type". */
  readonly json: Record<string, unknown>;
}

function nameOf(o: Record<string, unknown>): string {
  const n = o['name'] ?? o['cluster_name'] ?? o['clusterName'];
  return typeof n === 'string' ? n : '';
}

function withoutType(o: Record<string, unknown>): Record<string, unknown> {
  const { '@type': _t, ...rest } = o;
  return rest;
}

/**
 * Every Listener / RouteConfiguration / Cluster / ClusterLoadAssignment in a
 * parsed fixture: any object whose "@type" is one of the four (admin dumps,
 * CSDS incl. the legacy per-type xdsConfig, DiscoveryResponse-style lists),
 * bootstrap static_resources (no "@type"), and top-level YAML lists whose type
 * is implied by the file name (Envoy Gateway's *.routes.yaml / *.clusters.yaml).
 */
export function extractResources(file: string, doc: unknown): ExtractedResource[] {
  const out: ExtractedResource[] = [];
  const push = (typeUrl: string, o: Record<string, unknown>, location: string) =>
    out.push({ file, location, typeUrl, name: nameOf(o), json: withoutType(o) });
  const walk = (v: unknown, loc: string): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${loc}[${i}]`));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const t = o['@type'];
    if (typeof t === 'string' && WANTED.has(t)) {
      push(t, o, loc);
      return;
    }
    for (const [k, x] of Object.entries(o)) {
      if ((k === 'static_resources' || k === 'staticResources') && x && typeof x === 'object') {
        const sr = x as Record<string, unknown>;
        const listeners = (sr['listeners'] ?? []) as Record<string, unknown>[];
        const clusters = (sr['clusters'] ?? []) as Record<string, unknown>[];
        listeners.forEach((l, i) => push(TYPE_URLS.Listener, l, `${loc}.${k}.listeners[${i}]`));
        clusters.forEach((c, i) => push(TYPE_URLS.Cluster, c, `${loc}.${k}.clusters[${i}]`));
        continue;
      }
      walk(x, loc ? `${loc}.${k}` : k);
    }
  };
  if (Array.isArray(doc) && /\.routes\.yaml$/.test(file)) doc.forEach((r, i) => push(TYPE_URLS.RouteConfiguration, r as Record<string, unknown>, `[${i}]`));
  else if (Array.isArray(doc) && /\.clusters\.yaml$/.test(file)) doc.forEach((c, i) => push(TYPE_URLS.Cluster, c as Record<string, unknown>, `[${i}]`));
  else walk(doc, '');
  return out;
}

export function loadFixture(file: string): unknown {
  const text = readFileSync(join(FIXTURE_DIR, file), 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text);
  const docs = parseAllDocuments(text);
  return docs.length === 1 ? docs[0]!.toJS() : docs.map((d) => d.toJS());
}

export function fixtureFiles(): string[] {
  return readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json') || f.endsWith('.yaml')).sort();
}

export function allFixtureResources(): ExtractedResource[] {
  return fixtureFiles().flatMap((f) => extractResources(f, loadFixture(f)));
}
