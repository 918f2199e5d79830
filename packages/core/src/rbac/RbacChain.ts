import type { HttpFilter, RbacFilter } from '@meshlet/xds-client';
import { RbacEngine } from './RbacEngine.js';
import type { RbacDecision, RbacRequest } from './RbacRequest.js';

const ALLOWED: RbacDecision = Object.freeze({ allowed: true });

/**
 * Several RBAC filters in HTTP filter order, as istiod emits them (a DENY filter, then an ALLOW
 * filter). Every filter must allow: the first one that denies decides. When all allow, the result
 * carries the last matched ALLOW policy, if any.
 */
export class RbacChain {
  constructor(readonly engines: readonly RbacEngine[]) {}

  static compile(filters: readonly RbacFilter[], fieldPath = 'rbac'): RbacChain {
    return new RbacChain(filters.map((f, i) => RbacEngine.compile(f, `${fieldPath}[${i}]`)));
  }

  /** The RBAC filters of an HttpConnectionManager's http_filters, in order (others are skipped). */
  static fromHttpFilters(filters: readonly HttpFilter[], fieldPath = 'http_filters'): RbacChain {
    const engines: RbacEngine[] = [];
    filters.forEach((f, i) => {
      if (f.config.kind === 'rbac') engines.push(RbacEngine.compile(f.config.rbac, `${fieldPath}[${i}].typed_config`));
    });
    return new RbacChain(engines);
  }

  evaluate(req: RbacRequest): RbacDecision {
    let result = ALLOWED;
    for (const e of this.engines) {
      const d = e.evaluate(req);
      if (!d.allowed) return d;
      if (d.matchedPolicy !== undefined) result = d;
    }
    return result;
  }
}
