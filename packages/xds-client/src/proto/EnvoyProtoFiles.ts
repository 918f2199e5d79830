import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type protobuf from 'protobufjs';
import { protobufjs } from './Protobufjs.js';

/*
 * The Envoy, xDS, udpa and googleapis protos, read from the copies that
 * `@grpc/grpc-js-xds` ships under `deps/` (we never vendor proto files).
 * `keepCase` keeps Envoy's snake_case field names, which the typed model follows.
 */

/**
 * What a running client needs: ADS, the four resource types and the typed
 * extensions Meshlet acts on. Every message and service these files define (not the
 * files they import) is a root of the trimmed descriptor the build writes
 * (TrimmedDescriptor.ts); parsed from `.proto` at runtime only when that file is absent.
 */
export const CORE_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  // ads.proto only declares the service; its messages (and Resource, which the delta
  // stream decodes by name) live here.
  'envoy/service/discovery/v3/discovery.proto',
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
 * never sees them does not pay for them (about 12 MB RSS on top of the parsed core set).
 */
export const EXTENDED_PROTO_FILES: readonly string[] = [
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

/**
 * Parses `files` (and what they import) from the `.proto` sources into `into`, or a new Root,
 * and resolves every type. This is the slow, memory-hungry path (protobufjs's parser): the
 * build runs it once to write the trimmed descriptor; a process runs it only without that file,
 * or for a type outside the trimmed set.
 */
export function parseEnvoyProtos(files: readonly string[], into: protobuf.Root = new (protobufjs().Root)()): protobuf.Root {
  const dirs = protoIncludeDirs();
  into.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  into.loadSync(files as string[], { keepCase: true });
  into.resolveAll();
  return into;
}
