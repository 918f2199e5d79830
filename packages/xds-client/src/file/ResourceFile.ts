import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { ProtoJsonOptions } from '../proto/ProtoJson.js';
import type { ResourceType } from '../resources/ResourceType.js';
import { ValidationError } from '../resources/ValidationError.js';
import { resourceTypeFor } from '../resources/KnownResourceTypes.js';
import { decodeResourceJson, type DecodedResource } from './ResourceJson.js';

/** A file of xDS resources that could not be read, parsed or validated. */
export class ResourceFileError extends ValidationError {
  constructor(
    readonly file: string,
    fieldPath: string,
    reason: string,
    resourceName?: string,
  ) {
    super(fieldPath, reason, resourceName);
    this.message = `${file}: ${this.message}`;
  }
}

const DISCOVERY_RESOURCE = 'envoy.service.discovery.v3.Resource';

/** Validated resources of one or more files, grouped by resource type. */
export class LoadedResources {
  /** type URL -> resource name -> model */
  readonly byType = new Map<string, Map<string, unknown>>();

  get<T>(type: ResourceType<T>, name: string): T | undefined {
    return this.byType.get(type.typeUrl)?.get(name) as T | undefined;
  }

  names(type: ResourceType<unknown>): string[] {
    return [...(this.byType.get(type.typeUrl)?.keys() ?? [])];
  }

  add(r: DecodedResource): boolean {
    let m = this.byType.get(r.type.typeUrl);
    if (!m) this.byType.set(r.type.typeUrl, (m = new Map()));
    if (m.has(r.name)) return false;
    m.set(r.name, r.resource);
    return true;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The resources in one parsed document: a list of resources with "@type", a
 * DiscoveryResponse-like `{type_url?, resources: [...]}` (items may also be
 * envoy.service.discovery.v3.Resource wrappers), or a single resource.
 */
function resourcesOf(doc: unknown, where: string): { json: unknown; path: string; type?: ResourceType<unknown> }[] {
  if (doc === null || doc === undefined) return [];
  if (Array.isArray(doc)) return doc.map((json, i) => ({ json, path: `${where}[${i}]` }));
  if (!isObject(doc)) throw new ValidationError(where, 'expected a resource, a list of resources or {resources: [...]}');
  if (Array.isArray(doc['resources'])) {
    const typeUrl = doc['type_url'] ?? doc['typeUrl'];
    const type = typeof typeUrl === 'string' ? resourceTypeFor(typeUrl) : undefined;
    if (typeof typeUrl === 'string' && !type) throw new ValidationError(`${where}.type_url`, `unsupported resource type ${typeUrl}`);
    return doc['resources'].map((json, i) => {
      const path = `${where}resources[${i}]`;
      if (isObject(json) && typeof json['@type'] === 'string' && json['@type'].endsWith(DISCOVERY_RESOURCE)) {
        return { json: json['resource'], path: `${path}.resource`, type };
      }
      return { json, path, type };
    });
  }
  return [{ json: doc, path: where }];
}

let yaml: typeof import('yaml') | undefined;

/** The yaml package, required on the first YAML file: a process fed over xDS never loads it (footprint). */
function yamlParser(): typeof import('yaml') {
  return (yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
}

/** Parses and validates file text; throws ResourceFileError naming the file, resource and field. */
export function parseResourceFileText(file: string, text: string, options?: ProtoJsonOptions): DecodedResource[] {
  let docs: unknown[];
  try {
    if (/\.json$/i.test(file)) {
      docs = [JSON.parse(text)];
    } else {
      const parsed = yamlParser().parseAllDocuments(text);
      const list = Array.isArray(parsed) ? parsed : [parsed];
      docs = list.map((d) => {
        if (d.errors.length > 0) throw d.errors[0]!;
        return d.toJS({ maxAliasCount: 100 });
      });
    }
  } catch (err) {
    throw new ResourceFileError(file, '', `cannot parse: ${(err as Error).message}`);
  }
  const out: DecodedResource[] = [];
  const seen = new Set<string>();
  docs.forEach((doc, d) => {
    const where = docs.length > 1 ? `[document ${d}]` : '';
    let items: ReturnType<typeof resourcesOf>;
    try {
      items = resourcesOf(doc, where);
    } catch (err) {
      const e = err as ValidationError;
      throw new ResourceFileError(file, e.fieldPath, e.reason);
    }
    for (const item of items) {
      let r: DecodedResource;
      try {
        r = decodeResourceJson(item.json, item.type, options);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        // Keep the path relative to the resource (as a NACK would) and say where the resource is in the file.
        throw new ResourceFileError(file, err.fieldPath, `${err.reason} (resource at ${item.path || 'top level'})`, err.resourceName);
      }
      const k = `${r.type.typeUrl} ${r.name}`;
      if (seen.has(k)) throw new ResourceFileError(file, '', `duplicate ${r.type.shortName} resource (at ${item.path})`, r.name);
      seen.add(k);
      out.push(r);
    }
  });
  return out;
}

/** One-shot: reads and validates a JSON or YAML file of xDS resources, grouped by type. */
export async function loadResourceFile(path: string, options?: ProtoJsonOptions): Promise<LoadedResources> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ResourceFileError(path, '', `cannot read: ${(err as Error).message}`);
  }
  const loaded = new LoadedResources();
  for (const r of parseResourceFileText(path, text, options)) loaded.add(r);
  return loaded;
}
