import type { CertificateProvider } from './CertificateProvider.js';
import { FileWatcherCertificateProvider, type FileWatcherConfig } from './FileWatcherCertificateProvider.js';

/** The bootstrap's `certificate_providers` map, as the bootstrap parser keeps it. */
export type BootstrapCertificateProviders = Readonly<Record<string, { readonly plugin_name: string; readonly config?: unknown }>>;

/** A certificate provider plugin (gRFC A29): validates its config at bootstrap load, creates instances on demand. */
export interface CertificateProviderPlugin<C = unknown> {
  readonly name: string;
  /** Throws an Error naming the bad field. */
  parseConfig(config: unknown, fieldPath: string): C;
  create(instanceName: string, config: C): CertificateProvider;
}

export const fileWatcherPlugin: CertificateProviderPlugin<FileWatcherConfig> = {
  name: 'file_watcher',
  parseConfig: (config, fieldPath) => FileWatcherCertificateProvider.parseConfig(config, fieldPath),
  create: (instanceName, config) => new FileWatcherCertificateProvider(instanceName, config),
};

interface Entry {
  readonly create?: () => CertificateProvider;
  provider?: CertificateProvider;
}

/**
 * Certificate provider instances by name. Configs are validated when the registry is built (a bad
 * bootstrap fails at startup, naming the instance). Instances start on first use, as gRPC does,
 * unless startAll() is called: the HTTP dispatcher and the gRPC channel call it when they are
 * created, so the files are usually read before the first request needs them (Envoy loads its
 * secrets before a cluster is warm, too). Starting early differs from gRPC only in timing: an
 * instance no cluster names then watches its files for nothing.
 */
export class CertificateProviderRegistry {
  private readonly entries = new Map<string, Entry>();

  static fromBootstrap(
    providers: BootstrapCertificateProviders | undefined,
    options: { readonly plugins?: readonly CertificateProviderPlugin<unknown>[] } = {},
  ): CertificateProviderRegistry {
    const plugins = new Map<string, CertificateProviderPlugin<unknown>>([[fileWatcherPlugin.name, fileWatcherPlugin as CertificateProviderPlugin<unknown>]]);
    for (const p of options.plugins ?? []) plugins.set(p.name, p);
    const registry = new CertificateProviderRegistry();
    for (const [instance, spec] of Object.entries(providers ?? {})) {
      const fieldPath = `certificate_providers[${JSON.stringify(instance)}]`;
      const plugin = plugins.get(spec.plugin_name);
      if (plugin === undefined) {
        throw new Error(`${fieldPath}: unknown plugin_name ${JSON.stringify(spec.plugin_name)} (supported: ${[...plugins.keys()].join(', ')})`);
      }
      const config = plugin.parseConfig(spec.config, `${fieldPath}.config`);
      registry.entries.set(instance, { create: () => plugin.create(instance, config) });
    }
    return registry;
  }

  /** A registry over ready-made providers (dev mode, tests, or an IstioCaClient). */
  static of(providers: Readonly<Record<string, CertificateProvider>>): CertificateProviderRegistry {
    const registry = new CertificateProviderRegistry();
    for (const [name, provider] of Object.entries(providers)) registry.entries.set(name, { provider });
    return registry;
  }

  /** Adds or replaces an instance (the replaced one is closed). */
  set(name: string, provider: CertificateProvider): void {
    this.entries.get(name)?.provider?.close();
    this.entries.set(name, { provider });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The instance, started on first use; throws naming the known instances when there is none. */
  get(name: string): CertificateProvider {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      const known = this.names();
      throw new Error(`no certificate provider instance ${JSON.stringify(name)} in the bootstrap (have: ${known.length > 0 ? known.join(', ') : 'none'})`);
    }
    entry.provider ??= entry.create!();
    return entry.provider;
  }

  /** The instances that have started, by name; reading them starts none (metrics read this). */
  *started(): IterableIterator<[string, CertificateProvider]> {
    for (const [name, entry] of this.entries) if (entry.provider !== undefined) yield [name, entry.provider];
  }

  /** Starts every instance that has not started yet (idempotent). */
  startAll(): void {
    for (const entry of this.entries.values()) entry.provider ??= entry.create!();
  }

  close(): void {
    for (const entry of this.entries.values()) entry.provider?.close();
  }
}
