import { BootstrapError } from './BootstrapError.js';
import {
  DELTA_XDS_FEATURE,
  IGNORE_RESOURCE_DELETION_FEATURE,
  SUPPORTED_CALL_CREDS,
  SUPPORTED_CHANNEL_CREDS,
  type AuthorityConfig,
  type Bootstrap,
  type CallCredsConfig,
  type CertificateProviderConfig,
  type ChannelCredsConfig,
  type ChannelCredsType,
  type FileWatcherConfig,
  type NodeConfig,
  type NodeLocality,
  type XdsServerConfig,
} from './Bootstrap.js';
import { parseDurationString } from './DurationString.js';

/** Bootstraps produced by this parser, so an already-parsed one is passed through untouched. */
const parsed = new WeakSet<object>();

export function isParsedBootstrap(value: unknown): value is Bootstrap {
  return typeof value === 'object' && value !== null && parsed.has(value);
}

type Json = Record<string, unknown>;

const DEFAULT_REFRESH_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Validates a bootstrap document (already JSON-parsed) against the gRPC xDS
 * bootstrap format. Unknown fields are ignored, as gRPC does: istio-agent writes
 * Go-marshalled nodes with extra keys such as `"UserAgentVersionType": null`.
 *
 * @param source names where the document came from, for error messages.
 */
export function parseBootstrap(doc: unknown, source = 'bootstrap object'): Bootstrap {
  if (isParsedBootstrap(doc)) return doc;
  const ctx = new Ctx(source);
  // Work on a copy: the result is frozen, and the caller's object must not be.
  try {
    doc = structuredClone(doc);
  } catch (error) {
    throw new BootstrapError(source, '', `must be plain JSON data (${(error as Error).message})`, { cause: error });
  }
  const root = ctx.object(doc, '', 'a JSON object with at least "xds_servers"');
  const xds_servers = ctx.servers(root['xds_servers'], 'xds_servers', true);
  const bootstrap: Bootstrap = {
    xds_servers,
    node: ctx.node(root['node']),
    certificate_providers: ctx.certificateProviders(root['certificate_providers']),
    server_listener_resource_name_template: ctx.optionalString(root['server_listener_resource_name_template'], 'server_listener_resource_name_template'),
    client_default_listener_resource_name_template:
      ctx.optionalString(root['client_default_listener_resource_name_template'], 'client_default_listener_resource_name_template') ?? '%s',
    authorities: ctx.authorities(root['authorities']),
  };
  deepFreeze(bootstrap);
  parsed.add(bootstrap);
  return bootstrap;
}

class Ctx {
  constructor(private readonly source: string) {}

  fail(path: string, reason: string): never {
    throw new BootstrapError(this.source, path, reason);
  }

  object(value: unknown, path: string, what = 'a JSON object'): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `expected ${what}, got ${describe(value)}`);
    return value as Json;
  }

  optionalObject(value: unknown, path: string): Json | undefined {
    return value === undefined || value === null ? undefined : this.object(value, path);
  }

  string(value: unknown, path: string, what = 'a string'): string {
    if (typeof value !== 'string') this.fail(path, `expected ${what}, got ${describe(value)}`);
    return value;
  }

  optionalString(value: unknown, path: string): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, path);
  }

  servers(value: unknown, path: string, required: boolean): XdsServerConfig[] {
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'required: list at least one server, e.g. [{"server_uri": "istiod.istio-system.svc:15010", "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}]');
      return [];
    }
    if (!Array.isArray(value)) this.fail(path, `expected an array of servers, got ${describe(value)}`);
    if (required && value.length === 0) this.fail(path, 'must list at least one server');
    return value.map((s, i) => this.server(s, `${path}[${i}]`));
  }

  server(value: unknown, path: string): XdsServerConfig {
    const s = this.object(value, path, 'a server object {server_uri, channel_creds, server_features}');
    const server_uri = this.string(s['server_uri'], `${path}.server_uri`, 'a gRPC target such as "host:port" or "unix:///path"');
    if (server_uri === '') this.fail(`${path}.server_uri`, 'must not be empty');
    const channel_creds = this.channelCreds(s['channel_creds'], `${path}.channel_creds`);
    const call_creds = this.callCreds(s['call_creds'], `${path}.call_creds`);
    if (call_creds.length > 0 && channel_creds.type === 'insecure') {
      // grpc-js cannot compose call creds with insecure channel creds, and a bearer token sent
      // in clear would be readable by anyone on the path: refuse the bootstrap instead.
      this.fail(`${path}.call_creds`, 'call credentials need "tls" or "google_default" channel_creds; the selected channel_creds is "insecure"');
    }
    const featuresRaw = s['server_features'] ?? [];
    if (!Array.isArray(featuresRaw)) this.fail(`${path}.server_features`, `expected an array of strings, got ${describe(featuresRaw)}`);
    const server_features = featuresRaw.map((f, i) => this.string(f, `${path}.server_features[${i}]`));
    return {
      server_uri,
      channel_creds,
      call_creds,
      server_features,
      ignore_resource_deletion: server_features.includes(IGNORE_RESOURCE_DELETION_FEATURE),
      delta_xds: server_features.includes(DELTA_XDS_FEATURE),
    };
  }

  channelCreds(value: unknown, path: string): ChannelCredsConfig {
    const hint = `expected a non-empty array like [{"type": "insecure"}]; supported types: ${SUPPORTED_CHANNEL_CREDS.join(', ')}`;
    if (!Array.isArray(value) || value.length === 0) this.fail(path, `${hint}, got ${describe(value)}`);
    const seen: string[] = [];
    for (const [i, entry] of value.entries()) {
      const c = this.object(entry, `${path}[${i}]`, 'an object {type, config?}');
      const type = this.string(c['type'], `${path}[${i}].type`);
      seen.push(type);
      // gRFC A27: use the first type this client supports, skip the others.
      if ((SUPPORTED_CHANNEL_CREDS as readonly string[]).includes(type)) {
        const config = this.optionalObject(c['config'], `${path}[${i}].config`);
        if (type === 'tls' && config) this.tlsCredsConfig(config, `${path}[${i}].config`);
        return config ? { type: type as ChannelCredsType, config } : { type: type as ChannelCredsType };
      }
    }
    return this.fail(path, `no supported channel credential type among [${seen.join(', ')}]; add one of ${SUPPORTED_CHANNEL_CREDS.join(', ')}`);
  }

  /**
   * gRFC A97 `call_creds`: optional; unlike channel_creds every supported entry is used and
   * unknown types are skipped, but a supported entry with a bad config fails the bootstrap.
   */
  callCreds(value: unknown, path: string): CallCredsConfig[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(path, `expected an array like [{"type": "jwt_token_file", "config": {"jwt_token_file": "/var/run/secrets/tokens/istio-token"}}], got ${describe(value)}`);
    const out: CallCredsConfig[] = [];
    for (const [i, entry] of value.entries()) {
      const c = this.object(entry, `${path}[${i}]`, 'an object {type, config?}');
      const type = this.string(c['type'], `${path}[${i}].type`);
      if (!(SUPPORTED_CALL_CREDS as readonly string[]).includes(type)) continue;
      const config = this.object(c['config'], `${path}[${i}].config`, 'an object {"jwt_token_file": "<path>"}');
      const file = this.string(config['jwt_token_file'], `${path}[${i}].config.jwt_token_file`, 'the path of the JWT token file');
      if (file === '') this.fail(`${path}[${i}].config.jwt_token_file`, 'must not be empty');
      out.push({ type: 'jwt_token_file', config: { jwt_token_file: file } });
    }
    return out;
  }

  tlsCredsConfig(config: Json, path: string): void {
    for (const key of ['ca_certificate_file', 'certificate_file', 'private_key_file']) this.optionalString(config[key], `${path}.${key}`);
    if ((config['certificate_file'] === undefined) !== (config['private_key_file'] === undefined)) {
      this.fail(path, 'certificate_file and private_key_file must be set together');
    }
  }

  node(value: unknown): NodeConfig {
    const n = this.optionalObject(value, 'node');
    if (!n) return { id: '', cluster: '' };
    const localityObj = this.optionalObject(n['locality'], 'node.locality');
    let locality: NodeLocality | undefined;
    if (localityObj) {
      const l: { region?: string; zone?: string; sub_zone?: string } = {};
      for (const key of ['region', 'zone', 'sub_zone'] as const) {
        const v = this.optionalString(localityObj[key], `node.locality.${key}`);
        if (v !== undefined) l[key] = v;
      }
      locality = l;
    }
    const metadata = this.optionalObject(n['metadata'], 'node.metadata');
    return {
      id: this.optionalString(n['id'], 'node.id') ?? '',
      cluster: this.optionalString(n['cluster'], 'node.cluster') ?? '',
      ...(locality ? { locality } : {}),
      ...(metadata ? { metadata: this.structJson(metadata, 'node.metadata') } : {}),
    };
  }

  /** A Struct can only hold JSON values: reject what could not be sent (NaN, functions, bigint...). */
  structJson(value: Json, path: string): Json {
    const check = (v: unknown, p: string): void => {
      if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) this.fail(p, 'numbers in metadata must be finite');
        return;
      }
      if (Array.isArray(v)) return v.forEach((x, i) => check(x, `${p}[${i}]`));
      if (typeof v === 'object') return Object.entries(v as Json).forEach(([k, x]) => check(x, `${p}.${k}`));
      this.fail(p, `expected a JSON value, got ${describe(v)}`);
    };
    check(value, path);
    return value;
  }

  certificateProviders(value: unknown): Record<string, CertificateProviderConfig> {
    const providers = this.optionalObject(value, 'certificate_providers');
    // Null-prototype records: a key such as "__proto__" is data, not a prototype.
    const out: Record<string, CertificateProviderConfig> = Object.create(null);
    if (!providers) return out;
    for (const [name, raw] of Object.entries(providers)) {
      const path = `certificate_providers.${name}`;
      const p = this.object(raw, path, 'an object {plugin_name, config}');
      const plugin_name = this.string(p['plugin_name'], `${path}.plugin_name`, 'a plugin name such as "file_watcher"');
      const config = this.optionalObject(p['config'], `${path}.config`) ?? {};
      out[name] = plugin_name === 'file_watcher'
        ? { plugin_name, config, file_watcher: this.fileWatcher(config, `${path}.config`) }
        : { plugin_name, config };
    }
    return out;
  }

  fileWatcher(config: Json, path: string): FileWatcherConfig {
    const certificate_file = this.optionalString(config['certificate_file'], `${path}.certificate_file`);
    const private_key_file = this.optionalString(config['private_key_file'], `${path}.private_key_file`);
    const ca_certificate_file = this.optionalString(config['ca_certificate_file'], `${path}.ca_certificate_file`);
    if ((certificate_file === undefined) !== (private_key_file === undefined)) {
      this.fail(path, 'certificate_file and private_key_file must be set together');
    }
    if (certificate_file === undefined && ca_certificate_file === undefined) {
      this.fail(path, 'set certificate_file + private_key_file, ca_certificate_file, or all three');
    }
    let refresh_interval = DEFAULT_REFRESH_INTERVAL_MS;
    const refresh = config['refresh_interval'];
    if (refresh !== undefined && refresh !== null) {
      const text = this.string(refresh, `${path}.refresh_interval`, 'a duration string such as "600s"');
      const ms = parseDurationString(text);
      if (ms === undefined || ms <= 0) this.fail(`${path}.refresh_interval`, `expected a positive duration string such as "600s", got ${JSON.stringify(text)}`);
      refresh_interval = ms;
    }
    return {
      ...(certificate_file !== undefined ? { certificate_file } : {}),
      ...(private_key_file !== undefined ? { private_key_file } : {}),
      ...(ca_certificate_file !== undefined ? { ca_certificate_file } : {}),
      refresh_interval,
    };
  }

  authorities(value: unknown): Record<string, AuthorityConfig> {
    const auths = this.optionalObject(value, 'authorities');
    const out: Record<string, AuthorityConfig> = Object.create(null);
    if (!auths) return out;
    for (const [name, raw] of Object.entries(auths)) {
      const path = `authorities.${name}`;
      const a = this.optionalObject(raw, path) ?? {};
      const template = this.optionalString(a['client_listener_resource_name_template'], `${path}.client_listener_resource_name_template`);
      // gRFC A47: an authority's template must name that authority.
      const prefix = `xdstp://${name}/`;
      if (template !== undefined && !template.startsWith(prefix)) {
        this.fail(`${path}.client_listener_resource_name_template`, `must start with "${prefix}"`);
      }
      out[name] = {
        xds_servers: this.servers(a['xds_servers'], `${path}.xds_servers`, false),
        client_listener_resource_name_template: template ?? `${prefix}envoy.config.listener.v3.Listener/%s`,
      };
    }
    return out;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
