/**
 * The two 32-bit halves of a 64-bit request hash, read without making BigInts. `hash >> 32n` and
 * `hash & 0xffffffffn` each allocate a BigInt, and ring hash splits the request's hash on every
 * pick (RingHashPicker); writing the BigInt into a DataView and reading it back as two uint32s
 * allocates nothing. Big-endian, so the first word is the high half on any platform.
 */
const scratch = new DataView(new ArrayBuffer(8));

/** Bits 63..32 of `hash` (taken modulo 2^64), as a uint32. */
export function hashHigh(hash: bigint): number {
  scratch.setBigUint64(0, hash);
  return scratch.getUint32(0);
}

/** Bits 31..0 of `hash` (taken modulo 2^64), as a uint32. */
export function hashLow(hash: bigint): number {
  scratch.setBigUint64(0, hash);
  return scratch.getUint32(4);
}
