import { createRequire } from 'node:module';
import type forgeModule from 'node-forge';

let forge: typeof forgeModule | undefined;

/**
 * node-forge, required on first use. Only certificate work needs it (building and parsing
 * certificates and CSRs, reading SANs for TLS peers); loading it costs about 2.4 MB RSS and
 * 1.3 MB of heap, which a plaintext mesh, the common proxyless case, should not pay.
 */
export function nodeForge(): typeof forgeModule {
  return (forge ??= createRequire(import.meta.url)('node-forge') as typeof forgeModule);
}
