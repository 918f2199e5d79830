import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { DiagnosticSink } from './DiagnosticSink.js';
import { SpecNode, type ResourceScope } from './SpecNode.js';

export type MeshKind = 'ServiceEntry' | 'DestinationRule' | 'VirtualService';

/** One Istio networking resource read from a mesh.yaml document. */
export interface MeshResource {
  readonly kind: MeshKind;
  readonly name: string;
  readonly namespace: string | undefined;
  /** The `spec` mapping; its path is `spec`. */
  readonly spec: SpecNode;
  /** The resource's top-level node, for diagnostics about the resource as a whole. */
  readonly root: SpecNode;
}

const GROUP = 'networking.istio.io';
const VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];
const KINDS: readonly MeshKind[] = ['ServiceEntry', 'DestinationRule', 'VirtualService'];
/** Other Istio kinds a mesh.yaml copied from a cluster may contain: accepted, with a warning that they do nothing here. */
const IGNORED_KINDS: Readonly<Record<string, string>> = {
  Gateway: 'gateways are not part of an in-process mesh',
  Sidecar: 'Meshlet clients already see every service in mesh.yaml',
  EnvoyFilter: 'Envoy filter patches do not apply to Meshlet',
  WorkloadEntry: 'list the endpoints in the ServiceEntry instead',
  WorkloadGroup: 'list the endpoints in the ServiceEntry instead',
  ProxyConfig: 'no Envoy proxy to configure',
  PeerAuthentication: 'security.istio.io resources are read by the mTLS setup, not the traffic translator',
  AuthorizationPolicy: 'security.istio.io resources are read by the server RBAC setup, not the traffic translator',
  RequestAuthentication: 'not implemented by Meshlet',
  Telemetry: 'telemetry is configured in code',
};

/**
 * Parses multi-document YAML into Istio resources. YAML syntax errors, missing
 * apiVersion/kind/metadata.name and unexpected kinds become diagnostics; a
 * Kubernetes `kind: List` (as `kubectl get -o yaml` prints) is unpacked.
 */
export function parseMeshDocuments(text: string, file: string, sink: DiagnosticSink): MeshResource[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const out: MeshResource[] = [];
  // parseAllDocuments returns an EmptyStream (an array with .empty) for blank input.
  for (const doc of docs as Document.Parsed[]) {
    let syntaxError = false;
    for (const err of doc.errors) {
      syntaxError = true;
      const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
      sink.report({ file, line: pos.line, column: pos.col, path: '', message: `YAML syntax: ${firstLine(err.message)}`, severity: 'error' });
    }
    if (syntaxError) continue;
    const scope: ResourceScope = { file, doc, lineCounter, sink, label: 'document' };
    const top = new SpecNode(scope, doc.contents, '');
    if (!top.present) continue; // an empty document (e.g. a trailing ---) is fine
    readResource(top, scope, out);
  }
  return out;
}

function readResource(top: SpecNode, scope: ResourceScope, out: MeshResource[]): void {
  if (!top.isMapping()) return;
  const kind = top.field('kind').string();
  const apiVersion = top.field('apiVersion').string();
  if (kind === 'List' && (apiVersion === 'v1' || apiVersion === undefined)) {
    for (const item of top.field('items').items()) readResource(item, scope, out);
    return;
  }
  const metadata = top.field('metadata');
  const name = metadata.field('name').string();
  const label = `${kind ?? 'resource'} ${name ?? '(unnamed)'}`;
  const root = top.withLabel(label);
  if (kind === undefined) {
    root.required('kind', 'one of ServiceEntry, DestinationRule, VirtualService');
    return;
  }
  const [group, version] = apiVersion?.includes('/') ? apiVersion.split('/', 2) : [undefined, apiVersion];
  if (!(KINDS as readonly string[]).includes(kind)) {
    if (group === GROUP || group?.endsWith('.istio.io')) {
      const why = IGNORED_KINDS[kind];
      root.field('kind').warn(`${kind} is ignored: ${why ?? 'Meshlet translates only ServiceEntry, DestinationRule and VirtualService'}`);
    } else {
      root.field('kind').warn(`${apiVersion ?? ''} ${kind} is not an Istio networking resource and is ignored`);
    }
    return;
  }
  if (apiVersion === undefined) {
    root.required('apiVersion', `write apiVersion: ${GROUP}/v1`);
    return;
  }
  if (group !== GROUP || !VERSIONS.includes(version ?? '')) {
    root.field('apiVersion').error(`expected ${GROUP}/v1 (or v1beta1, v1alpha3) for ${kind}, got "${apiVersion}"`);
    return;
  }
  root.checkFields(['apiVersion', 'kind', 'metadata', 'spec'], { ignored: { status: 'status is written by controllers' } });
  const meta = root.required('metadata', 'give the resource a name under metadata.name');
  if (!meta.present) return;
  meta.isMapping();
  const nameNode = meta.required('name');
  if (name === undefined || !nameNode.present) return;
  const namespace = meta.field('namespace').string();
  const spec = root.required('spec');
  if (!spec.present || !spec.isMapping()) return;
  out.push({ kind: kind as MeshKind, name, namespace, spec, root });
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}
