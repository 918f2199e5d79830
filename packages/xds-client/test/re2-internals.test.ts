/**
 * Meshlet frees re2-wasm's native programs through its RE2 object's `wrapper` field (an Embind object
 * with `delete()`): re2-wasm has no public way to. An upgrade that renames it would silently bring back
 * the leak that ran its fixed 16 MiB heap out (see common/Re2.ts), so it fails here instead.
 */
import { describe, expect, it } from 'vitest';
import { checkRe2, compileRe2, loadRe2 } from '../src/resources/index.js';

describe('re2-wasm internals Meshlet relies on', () => {
  it('an RE2 holds its native program as `wrapper`, with delete()', () => {
    const re = new (loadRe2())('a+', 'u') as unknown as { wrapper?: { delete?: unknown } };
    expect(typeof re.wrapper?.delete).toBe('function');
    (re.wrapper as { delete(): void }).delete();
  });

  it('compileRe2 gives a working RE2; checkRe2 accepts a good pattern and throws re2-wasm\'s error for a bad one', () => {
    expect(compileRe2('^b+$', 'u').test('bbb')).toBe(true);
    expect(() => checkRe2('[a-z]{2}', 'u')).not.toThrow();
    expect(() => checkRe2('(unclosed', 'u')).toThrow(/missing \)|unclosed|Invalid regular expression/i);
  });
});
