import { describe, expect, it, vi } from 'vitest';
import { ValidationError } from '@meshlet/xds-client';

// Route regexes in the plain RE2 subset are validated when the route table is built and compiled on
// their first match (so a process whose requests never reach one never loads re2-wasm); any other
// pattern compiles at once, as before. Either way a bad pattern is rejected when the table is built.

const compiled = vi.hoisted(() => [] as string[]);
vi.mock('@meshlet/xds-client', async (importOriginal) => {
  const x = await importOriginal<typeof import('@meshlet/xds-client')>();
  return {
    ...x,
    compileRe2: (source: string, flags: string) => {
      compiled.push(source);
      return x.compileRe2(source, flags);
    },
  };
});
const { compileFullMatch } = await import('../../src/routing/Re2Pattern.js');

describe('compileFullMatch', () => {
  it('compiles a plain pattern on its first test with re2js, not re2-wasm, and matches the whole input', () => {
    compiled.length = 0;
    const re = compileFullMatch('/lazy/v[0-9]+', 'routes[0].match.safe_regex.regex');
    expect(re.test('/lazy/v12')).toBe(true);
    expect(re.test('/lazy/v12/more')).toBe(false);
    expect(re.test('x/lazy/v1')).toBe(false);
    expect(re.test('/lazy/v12\n')).toBe(false);
    expect(compiled).toEqual([]);
  });

  it('runs a plain pattern on re2-wasm for a text with an unpaired surrogate (re2-wasm\'s reading of it)', () => {
    compiled.length = 0;
    const re = compileFullMatch('/odd/..', 'x');
    expect(re.test('/odd/ab')).toBe(true);
    expect(compiled).toEqual([]);
    // re2-wasm joins an unpaired surrogate with the next code unit: one character here, not two.
    expect(re.test('/odd/\ud800a')).toBe(false);
    expect(re.test('/odd/a\ud800')).toBe(true);
    expect(compiled).toEqual(['^(?:/odd/..)$']);
  });

  it('compiles a pattern outside the plain subset at once', () => {
    compiled.length = 0;
    const re = compileFullMatch('(?i)eager', 'x');
    expect(compiled).toEqual(['^(?:(?i)eager)$']);
    expect(re.test('EAGER')).toBe(true);
  });

  it('rejects a bad pattern when the table is built, plain-looking or not', () => {
    for (const bad of ['/a/(b', 'a)|(b', '[z-a]', 'a{1001}', '\\q']) {
      expect(() => compileFullMatch(bad, 'routes[0].match.safe_regex.regex'), bad).toThrow(ValidationError);
    }
  });
});
