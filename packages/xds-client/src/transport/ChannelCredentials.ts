import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { ChannelCredsConfig } from '../bootstrap/Bootstrap.js';

/**
 * grpc-js channel credentials for a bootstrap `channel_creds` entry.
 * - `insecure`: plaintext (istio-agent's local UDS proxy, local control planes).
 * - `tls` (gRFC A65): optional ca_certificate_file / certificate_file + private_key_file;
 *   files are read once at connect time (refresh is not implemented).
 * - `google_default`: TLS with the system roots. grpc-js has no Google default call
 *   credentials, so Traffic Director's OAuth token is not attached (TODO if needed).
 */
export function channelCredentialsFor(creds: ChannelCredsConfig): grpc.ChannelCredentials {
  switch (creds.type) {
    case 'insecure':
      return grpc.credentials.createInsecure();
    case 'tls': {
      const file = (key: string): Buffer | null => {
        const path = creds.config?.[key];
        return typeof path === 'string' ? readFileSync(path) : null;
      };
      return grpc.credentials.createSsl(file('ca_certificate_file'), file('private_key_file'), file('certificate_file'));
    }
    case 'google_default':
      return grpc.credentials.createSsl();
  }
}
