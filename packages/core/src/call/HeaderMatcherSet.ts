import type { HeaderMatcher } from '@meshlet/xds-client';
import { CompiledHeaderMatcher } from '../routing/HeaderMatcher.js';
import type { RequestView } from '../routing/RequestView.js';
import type { HeaderLookup } from './HeaderLookup.js';

/** Presents a bare HeaderLookup as routing's RequestView; pseudo-headers come from the lookup. */
class LookupView implements RequestView {
  private h: HeaderLookup = { get: () => undefined };
  readonly headers: HeaderLookup = {
    get: (name) => this.h.get(name) ?? undefined,
    repeatedValues: (name) => this.h.repeatedValues?.(name),
  };
  readonly isGrpc = false;
  wrap(h: HeaderLookup): this {
    this.h = h;
    return this;
  }
  get authority(): string {
    return this.h.get(':authority') ?? '';
  }
  get path(): string {
    return this.h.get(':path') ?? '';
  }
  get method(): string {
    return this.h.get(':method') ?? '';
  }
}

/**
 * A list of envoy.config.route.v3.HeaderMatcher compiled once per push, reusing routing's
 * matcher (and its interned RE2 objects, which live in WASM memory the GC cannot reclaim).
 * Used by retriable_headers / retriable_request_headers and the fault filter's `headers`.
 * Matching is synchronous, so one adapter view per set serves every call without allocating.
 */
export class HeaderMatcherSet {
  static readonly EMPTY = new HeaderMatcherSet([]);

  private readonly view = new LookupView();

  private constructor(private readonly matchers: readonly CompiledHeaderMatcher[]) {}

  static compile(matchers: readonly HeaderMatcher[], fieldPath = 'headers'): HeaderMatcherSet {
    if (matchers.length === 0) return HeaderMatcherSet.EMPTY;
    return new HeaderMatcherSet(matchers.map((m, i) => new CompiledHeaderMatcher(m, `${fieldPath}[${i}]`)));
  }

  get size(): number {
    return this.matchers.length;
  }

  /** Envoy HeaderUtility::matchHeaders: every matcher must match (an empty set matches). */
  matchesAll(headers: HeaderLookup): boolean {
    const view = this.view.wrap(headers);
    for (const m of this.matchers) if (!m.matches(view)) return false;
    return true;
  }

  /** retriable_headers / retriable_request_headers semantics: any one matcher is enough. */
  matchesAny(headers: HeaderLookup): boolean {
    const view = this.view.wrap(headers);
    for (const m of this.matchers) if (m.matches(view)) return true;
    return false;
  }
}
