import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

/**
 * The Envoy, xDS, udpa and googleapis protos, loaded once from the copies that
 * `@grpc/grpc-js-xds` ships under `deps/` (we never vendor proto files).
 * `keepCase` keeps Envoy's snake_case field names, which the typed model follows.
 */
/**
 * What a running client needs: ADS, the four resource types and the typed
 * extensions Meshlet acts on. Parsed at first use (about 15 MB RSS).
 */
const CORE_PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'xds/type/v3/typed_struct.proto',
  'udpa/type/v1/typed_struct.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/any.proto',
  'google/protobuf/empty.proto',
  'google/rpc/status.proto',
];

/**
 * Everything else Meshlet can decode: CSDS and admin config dumps, the bootstrap,
 * and filters and extensions real control planes send that Meshlet only keeps
 * opaque or reads in tests (Lua, Wasm, access loggers, listener filters...).
 * Loaded into the same Root the first time a lookup misses, so a process that
 * never sees them does not pay for them (about 12 MB RSS).
 */
const EXTENDED_PROTO_FILES = [
  'envoy/service/status/v3/csds.proto',
  'envoy/admin/v3/config_dump.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/client_side_weighted_round_robin.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
  'envoy/extensions/regex_engines/v3/google_re2.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/lua/v3/lua.proto',
  'envoy/extensions/filters/http/wasm/v3/wasm.proto',
  'envoy/extensions/filters/http/grpc_stats/v3/config.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream.proto',
  'envoy/extensions/bootstrap/internal_listener/v3/internal_listener.proto',
  'envoy/extensions/filters/http/set_filter_state/v3/set_filter_state.proto',
  'envoy/extensions/filters/network/set_filter_state/v3/set_filter_state.proto',
  'envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto',
  'envoy/extensions/filters/http/compressor/v3/compressor.proto',
  'envoy/extensions/upstreams/tcp/v3/tcp_protocol_options.proto',
  'xds/type/matcher/v3/matcher.proto',
  'xds/type/matcher/v3/ip.proto',
  'envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto',
];

function protoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  // grpc-js-xds has no exports map, so its package.json resolves directly.
  const xdsRoot = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const protobufRoot = dirname(require.resolve('protobufjs/package.json'));
  return [
    join(xdsRoot, 'deps', 'envoy-api'),
    join(xdsRoot, 'deps', 'xds'),
    join(xdsRoot, 'deps', 'googleapis'),
    join(xdsRoot, 'deps', 'protoc-gen-validate'),
    // protobufjs bundles the google/protobuf well-known types.
    protobufRoot,
  ];
}

let root: protobuf.Root | undefined;
let extendedLoaded = false;

/**
 * The shared, lazily loaded protobufjs Root with every Envoy type Meshlet reads.
 * Lookups that miss the core set load the extended set once and retry, so
 * callers never need to know which set a type lives in.
 */
export function envoyRoot(): protobuf.Root {
  if (root) return root;
  const dirs = protoIncludeDirs();
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  r.loadSync(CORE_PROTO_FILES, { keepCase: true });
  r.resolveAll();
  const lookupType = r.lookupType.bind(r);
  r.lookupType = (path: string | string[]) => {
    try {
      return lookupType(path);
    } catch (err) {
      if (extendedLoaded) throw err;
      extendedLoaded = true;
      r.loadSync(EXTENDED_PROTO_FILES, { keepCase: true });
      r.resolveAll();
      return lookupType(path);
    }
  };
  root = r;
  return r;
}

/** Options for turning decoded messages into the plain objects the validators read. */
export const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: Buffer as unknown as StringConstructor, // keep bytes as Buffers
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: false,
};

export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/** The fully qualified message name of a type URL (`type.googleapis.com/x.y.Z` -> `x.y.Z`). */
export function typeNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

/** The message type for a name or type URL, or undefined when Meshlet has not loaded it. */
export function lookupMessage(nameOrTypeUrl: string): protobuf.Type | undefined {
  try {
    return envoyRoot().lookupType(typeNameOf(nameOrTypeUrl));
  } catch {
    return undefined;
  }
}

/** Decodes an Any into a plain snake_case object; undefined when the type is not known. */
export function decodeAny(any: AnyMessage): Record<string, unknown> | undefined {
  const type = lookupMessage(any.type_url);
  if (!type) return undefined;
  return type.toObject(type.decode(strictReader(any.value)), TO_OBJECT) as Record<string, unknown>;
}

/**
 * A protobufjs Reader over `bytes` that rejects a string field running past the end.
 * protobufjs's BufferReader (used for every Buffer) clamps such a string instead of throwing,
 * so a truncated resource would decode "successfully" into a different one; nested messages
 * share the reader, so the check covers them too.
 */
export function strictReader(bytes: Uint8Array): protobuf.Reader {
  const reader = protobuf.Reader.create(bytes);
  reader.string = function strictString(this: protobuf.Reader): string {
    const length = this.uint32();
    if (this.pos + length > this.len) throw new RangeError(`index out of range: ${this.pos} + ${length} > ${this.len}`);
    const text = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, length).toString('utf8');
    this.pos += length;
    return text;
  };
  return reader;
}

/** Encodes a plain object (protobufjs object form, snake_case) as an Any. */
export function encodeAny(typeName: string, value: Record<string, unknown>): AnyMessage {
  const type = envoyRoot().lookupType(typeNameOf(typeName));
  // fromObject (not verify) so enum names and long strings are accepted, as in proto3 JSON.
  return { type_url: `type.googleapis.com/${type.fullName.replace(/^\./, '')}`, value: type.encode(type.fromObject(value)).finish() };
}
