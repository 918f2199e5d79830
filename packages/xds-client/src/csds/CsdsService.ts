import type * as grpc from '@grpc/grpc-js';
import type { ClientConfigDump } from '../client/ConfigDump.js';
import type { XdsClient } from '../client/XdsClient.js';
import { messageCodec } from '../proto/MessageCodec.js';

const SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';

/** envoy.service.status.v3.ClientStatusRequest in protobufjs object form. */
export interface ClientStatusRequest {
  readonly node_matchers?: readonly Record<string, unknown>[];
  readonly node?: Record<string, unknown>;
  readonly exclude_resource_contents?: boolean;
}

/** envoy.service.status.v3.ClientStatusResponse in protobufjs object form. */
export interface ClientStatusResponse {
  readonly config: readonly ClientConfigDump[];
}

export type CsdsServiceDefinition = grpc.ServiceDefinition<{
  FetchClientStatus: grpc.handleUnaryCall<ClientStatusRequest, ClientStatusResponse>;
  StreamClientStatus: grpc.handleBidiStreamingCall<ClientStatusRequest, ClientStatusResponse>;
}>;

export type CsdsImplementation = {
  FetchClientStatus: grpc.handleUnaryCall<ClientStatusRequest, ClientStatusResponse>;
  StreamClientStatus: grpc.handleBidiStreamingCall<ClientStatusRequest, ClientStatusResponse>;
};

/** Where the client configs come from: an XdsClient, or any function producing CSDS ClientConfigs. */
export type CsdsSource = Pick<XdsClient, 'configDump'> | (() => readonly ClientConfigDump[]);

let definition: CsdsServiceDefinition | undefined;

/** The `envoy.service.status.v3.ClientStatusDiscoveryService` definition, for servers and clients alike. */
export function csdsServiceDefinition(): CsdsServiceDefinition {
  if (definition) return definition;
  const request = messageCodec<ClientStatusRequest>('envoy.service.status.v3.ClientStatusRequest');
  const response = messageCodec<ClientStatusResponse>('envoy.service.status.v3.ClientStatusResponse');
  const method = { requestSerialize: request.serialize, requestDeserialize: request.deserialize, responseSerialize: response.serialize, responseDeserialize: response.deserialize };
  definition = {
    FetchClientStatus: { path: `/${SERVICE}/FetchClientStatus`, originalName: 'fetchClientStatus', requestStream: false, responseStream: false, ...method },
    StreamClientStatus: { path: `/${SERVICE}/StreamClientStatus`, originalName: 'streamClientStatus', requestStream: true, responseStream: true, ...method },
  };
  return definition;
}

/**
 * CSDS (gRFC A40) for this process: add it to any grpc-js server with
 * `server.addService(csds.definition, csds.implementation)` and point `grpcdebug` or
 * `istioctl x` style tooling at it. Every request gets the client's current view; node_matchers
 * are not applied because a process only ever reports itself (as gRPC's CSDS does), and
 * exclude_resource_contents drops the resources' bodies but keeps names, versions and status.
 */
export function createCsdsService(source: CsdsSource): { definition: CsdsServiceDefinition; implementation: CsdsImplementation } {
  const configs = typeof source === 'function' ? source : () => [source.configDump()];
  const respond = (req: ClientStatusRequest): ClientStatusResponse => {
    const all = configs();
    if (!req.exclude_resource_contents) return { config: all };
    return { config: all.map((c) => ({ ...c, generic_xds_configs: c.generic_xds_configs.map(({ xds_config: _body, ...rest }) => rest) })) };
  };
  const implementation: CsdsImplementation = {
    FetchClientStatus(call, callback) {
      try {
        callback(null, respond(call.request));
      } catch (err) {
        callback({ code: 13 /* INTERNAL */, details: `meshlet: config dump failed: ${(err as Error).message}` } as grpc.ServiceError, null);
      }
    },
    StreamClientStatus(call) {
      // One response per request, as Envoy's and gRPC's CSDS servers do.
      call.on('data', (req: ClientStatusRequest) => {
        try {
          call.write(respond(req));
        } catch (err) {
          call.destroy(err as Error);
        }
      });
      call.on('end', () => call.end());
    },
  };
  return { definition: csdsServiceDefinition(), implementation };
}
