import { randomFillSync } from 'node:crypto';

/** Random bytes drawn in batches: 16 per id. */
const pool = Buffer.allocUnsafe(16 * 256);
let offset = pool.length;
/** One id's 36 ASCII characters, written in place and read out as one string. */
const text = Buffer.allocUnsafe(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Character positions of the 16 bytes' high nibbles (dashes at 8, 13, 18, 23). */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
text[8] = text[13] = text[18] = text[23] = 0x2d;

/**
 * A random (version 4) UUID for `x-request-id`, as Envoy generates one per request without it.
 * crypto.randomUUID() allocated about 500 bytes per id (its string is assembled piece by piece);
 * this writes the 36 characters into one reused buffer and makes one string of them.
 */
export function newRequestId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  for (let i = 0; i < 16; i++) {
    let b = pool[offset + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
    const at = AT[i]!;
    text[at] = HEX[b >> 4]!;
    text[at + 1] = HEX[b & 0x0f]!;
  }
  offset += 16;
  return text.toString('latin1', 0, 36);
}
