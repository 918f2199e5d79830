import xxhash from 'xxhash-wasm';

type XxHashApi = Awaited<ReturnType<typeof xxhash>>;

let api: XxHashApi | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads the xxHash64 WebAssembly module. Await once at start-up (Mesh start)
 * before building RING_HASH / MAGLEV clusters or hashing requests: the wasm
 * module can only be instantiated asynchronously, while picking is synchronous.
 */
export function initHashing(): Promise<void> {
  loading ??= xxhash().then((loaded) => {
    api = loaded;
  });
  return loading;
}

export function isHashingReady(): boolean {
  return api !== undefined;
}

/**
 * xxHash64 of the UTF-8 bytes of `input` (Envoy's HashUtil::xxHash64, seed 0 by
 * default), as an unsigned 64-bit bigint.
 */
export function xxHash64(input: string, seed = 0n): bigint {
  if (api === undefined) throw new Error('xxHash64 used before `await initHashing()`');
  return api.h64(input, seed);
}

/** A uniformly random 64-bit hash, for hash-policy LBs when the request produced no hash. */
export function randomHash(random: () => number): bigint {
  const hi = Math.floor(random() * 0x1_0000_0000);
  const lo = Math.floor(random() * 0x1_0000_0000);
  return (BigInt(hi) << 32n) | BigInt(lo);
}
