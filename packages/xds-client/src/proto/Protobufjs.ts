import { createRequire } from 'node:module';
import type * as Protobufjs from 'protobufjs';

let loaded: typeof Protobufjs | undefined;

/**
 * protobufjs, required on first use rather than imported at load. A client whose config comes
 * over ADS in the common shape never needs it: the discovery messages, the Node and the typical
 * resources have one-pass wire codecs (the *Wire.ts files), so protobufjs is left to what those
 * decline (JSON config, NACKs, uncommon resources). Not loading it spared the ADS footprint
 * process its 37 modules and about 1 MB of heap, and their share of what survives
 * young-generation GCs during load (bench/HISTORY.md, footprint). protobufjs is CommonJS, so this
 * is the same module instance an ESM `import` elsewhere gets: its classes stay interchangeable.
 */
export function protobufjs(): typeof Protobufjs {
  return (loaded ??= createRequire(import.meta.url)('protobufjs') as typeof Protobufjs);
}
