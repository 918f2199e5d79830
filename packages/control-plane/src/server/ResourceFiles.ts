import { readFileSync } from 'node:fs';
import { parseResourceFileText } from '@meshlet/xds-client';
import type { AdsServer } from './AdsServer.js';

/**
 * Serves xDS resource files (JSON or YAML; proto3 JSON, snake_case or
 * lowerCamelCase; the shapes FileSource reads) from an AdsServer. Every file
 * is validated with the same decoders clients use before anything is
 * published, so a bad file changes nothing and the error names file, resource
 * and field.
 */
export function publishResourceFiles(server: AdsServer, paths: readonly string[], options?: { version?: string }): { readonly counts: Record<string, number> } {
  const byType = new Map<string, Record<string, Record<string, unknown>>>();
  for (const path of paths) {
    for (const r of parseResourceFileText(path, readFileSync(path, 'utf8'))) {
      let group = byType.get(r.type.typeUrl);
      if (!group) byType.set(r.type.typeUrl, (group = {}));
      group[r.name] = r.object;
    }
  }
  const counts: Record<string, number> = {};
  for (const [typeUrl, resources] of byType) {
    server.setResources(typeUrl, resources, options);
    counts[typeUrl.slice(typeUrl.lastIndexOf('.') + 1)] = Object.keys(resources).length;
  }
  return { counts };
}
