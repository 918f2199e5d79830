import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './GrpcJs.js';
import type { CallCredsConfig, ChannelCredsConfig } from '../bootstrap/Bootstrap.js';
import { callCredentialsFor } from './CallCredentials.js';

/**
 * grpc-js channel credentials for a bootstrap `channel_creds` entry, plus the server's
 * `call_creds` (gRFC A97) composed onto them.
 * - `insecure`: plaintext (istio-agent's local UDS proxy, local control planes).
 * - `tls` (gRFC A65): optional ca_certificate_file / certificate_file + private_key_file;
 *   files are read once when the channel is made (refresh is not implemented). With the Istio
 *   root as CA and a `jwt_token_file` call credential this reaches istiod's 15012 port directly.
 * - `google_default`: TLS with the system roots. grpc-js has no Google default call
 *   credentials, so Traffic Director's OAuth token is not attached (TODO if needed).
 */
export function channelCredentialsFor(creds: ChannelCredsConfig, callCreds: readonly CallCredsConfig[] = []): grpc.ChannelCredentials {
  const channel = baseCredentials(creds);
  if (callCreds.length === 0) return channel;
  // The parser refuses call_creds over insecure channels; grpc-js would throw here too.
  return grpcJs().credentials.combineChannelCredentials(channel, ...callCreds.map((c) => callCredentialsFor(c)));
}

function baseCredentials(creds: ChannelCredsConfig): grpc.ChannelCredentials {
  switch (creds.type) {
    case 'insecure':
      return grpcJs().credentials.createInsecure();
    case 'tls': {
      const file = (key: string): Buffer | null => {
        const path = creds.config?.[key];
        if (typeof path !== 'string') return null;
        try {
          return readFileSync(path);
        } catch (error) {
          // Name the bootstrap field and the file: "ENOENT" alone does not say which of three.
          const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          throw new Error(`cannot read channel_creds tls ${key} ${path} (${reason})`, { cause: error });
        }
      };
      return grpcJs().credentials.createSsl(file('ca_certificate_file'), file('private_key_file'), file('certificate_file'));
    }
    case 'google_default':
      return grpcJs().credentials.createSsl();
  }
}
