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
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Character positions of an id's 16 bytes' high nibbles. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
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
  for (let id = 0; id < BATCH; id++) {
    const from = randomAt + id * 16;
    const to = id * ID_LENGTH;
    for (let i = 0; i < 16; i++) {
      let b = random[from + i]!;
      if (i === 6) b = (b & 0x0f) | 0x40; // version 4
      else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
      const at = to + AT[i]!;
      text[at] = HEX[b >> 4]!;
      text[at + 1] = HEX[b & 0x0f]!;
    }
  }
  randomAt += 16 * BATCH;
  ids = text.toString('latin1');
  next = 0;
}
