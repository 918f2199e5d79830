import { readFileSync } from 'node:fs';
import type { Listener } from '@meshlet/xds-client';
import { join } from 'node:path';
import { fromProto3Json, LISTENER_TYPE_URL, ListenerResource } from '@meshlet/xds-client';
import { FIXTURE_DIR } from '../../../xds-client/test/helpers/fixture-extract.js';

const FIXTURE = join(FIXTURE_DIR, 'istio-sidecar-listeners-rbac-dump.json');

/** A listener of the Istio sidecar config dump, decoded the way LDS decodes it (proto3 JSON -> model). */
export function istioListener(name: string): Listener {
  const dump = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { configs: { dynamic_listeners?: { name: string; active_state: { listener: Record<string, unknown> } }[] }[] };
  for (const c of dump.configs) {
    for (const l of c.dynamic_listeners ?? []) {
      if (l.name === name) {
        const { '@type': _t, ...json } = l.active_state.listener;
        return ListenerResource.fromObject(fromProto3Json(LISTENER_TYPE_URL, json)).resource;
      }
    }
  }
  throw new Error(`no listener ${name} in ${FIXTURE}`);
}
