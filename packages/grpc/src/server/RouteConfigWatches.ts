import { RouteTable } from '@meshlet/core';
import { RouteConfigurationResource, type Disposable, type Logger, type ResourceSource } from '@meshlet/xds-client';
import type { PerRouteFilterConfigs } from './ServerHttpFilters.js';

/** The routes of one RDS name as calls see them: a table, or why there is none. */
export class RouteConfigState {
  table: RouteTable | undefined;
  error: string | undefined;
  /** An answer came (resource, does-not-exist or error): a Listener waiting on it may go live. */
  resolved = false;
  refs = 0;
  watch: Disposable | undefined;
  readonly waiters = new Set<() => void>();

  constructor(readonly name: string) {}

  resolve(): void {
    this.resolved = true;
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
  }
}

/**
 * RDS subscriptions of a server, shared by every filter chain that names the same route
 * configuration and reference-counted across Listener updates, so a Listener update that keeps its
 * RDS names does not resubscribe. Route updates apply to existing connections at once, without a
 * drain (gRFC A36: only Listener changes drain connections).
 */
export class RouteConfigWatches {
  private readonly states = new Map<string, RouteConfigState>();

  constructor(
    private readonly source: ResourceSource,
    private readonly perRoute: PerRouteFilterConfigs,
    private readonly logger: Logger,
  ) {}

  acquire(name: string): RouteConfigState {
    let state = this.states.get(name);
    if (state === undefined) {
      const s = new RouteConfigState(name);
      state = s;
      this.states.set(name, s);
      s.watch = this.source.watch(RouteConfigurationResource, name, {
        onResource: (rc) => {
          try {
            this.perRoute.prepare(rc);
            s.table = RouteTable.compile(rc);
            s.error = undefined;
          } catch (err) {
            // Invalid for a server: keep the previous routes, if any (gRFC A36 / A46).
            const message = err instanceof Error ? err.message : String(err);
            this.logger.warn('xDS server: RouteConfiguration rejected', { name, error: message });
            if (s.table === undefined) s.error = `RouteConfiguration ${name} is invalid: ${message}`;
          }
          s.resolve();
        },
        onError: (err) => {
          if (s.table === undefined) s.error = `RouteConfiguration ${name} unavailable: ${err.message}`;
          s.resolve();
        },
        onDoesNotExist: () => {
          s.table = undefined;
          s.error = `RouteConfiguration ${name} does not exist`;
          s.resolve();
        },
      });
    }
    state.refs++;
    return state;
  }

  release(state: RouteConfigState): void {
    if (--state.refs > 0) return;
    state.watch?.dispose();
    state.waiters.clear();
    this.states.delete(state.name);
  }

  closeAll(): void {
    for (const s of this.states.values()) s.watch?.dispose();
    this.states.clear();
  }
}
