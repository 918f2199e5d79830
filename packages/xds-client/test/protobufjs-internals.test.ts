import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_PROTOBUFJS, assertProtobufjsInternals, protobufjsInternalsProblem } from '../src/proto/DescriptorRoot.js';

// DescriptorRoot's lazy root hooks protobufjs internals (Root._lookupImpl, _edition,
// _resolveFeaturesRecursive). These tests check that the installed protobufjs passes the check
// that runs before the first lazy root is built, that the declared range is the one the check names, and
// that a Root without those internals, or whose lookups no longer reach them, fails it clearly.

const installed = (createRequire(import.meta.url)('protobufjs/package.json') as { version: string }).version;

describe('protobufjs internals check', () => {
  it('passes on the installed protobufjs, which is in the range package.json declares', () => {
    expect(protobufjsInternalsProblem(protobuf.Root)).toBeUndefined();
    expect(() => assertProtobufjsInternals()).not.toThrow();
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.protobufjs).toBe(SUPPORTED_PROTOBUFJS);
    // A tilde range: same major and minor, patch at least the range's.
    const [major, minor, patch] = SUPPORTED_PROTOBUFJS.replace(/^~/, '').split('.').map(Number);
    const [iMajor, iMinor, iPatch] = installed.split('.').map((n) => Number.parseInt(n, 10));
    expect([iMajor, iMinor]).toEqual([major, minor]);
    expect(iPatch).toBeGreaterThanOrEqual(patch!);
  });

  it('a Root without _lookupImpl fails with the version loaded and the range supported', () => {
    class NoLookupImpl extends protobuf.Root {}
    Object.defineProperty(NoLookupImpl.prototype, '_lookupImpl', { value: undefined });
    expect(protobufjsInternalsProblem(NoLookupImpl)).toBe('Root has no _lookupImpl method');
    expect(() => assertProtobufjsInternals(NoLookupImpl, () => '7.99.0')).toThrow(
      `@meshlet/xds-client supports protobufjs ${SUPPORTED_PROTOBUFJS}, but protobufjs 7.99.0 is loaded: Root has no _lookupImpl method.`,
    );
  });

  it('a Root whose lookups no longer go through _lookupImpl fails the behaviour probe', () => {
    // As if a release kept the method but looked names up some other way: the hook on the
    // instance is skipped, so the lazily built types are never built.
    class Bypassing extends protobuf.Root {
      override lookup(path: string | string[], filterTypes?: unknown, parentAlreadyChecked?: boolean): protobuf.ReflectionObject | null {
        const self = this as unknown as { _lookupImpl: unknown };
        const hook = self._lookupImpl;
        delete (self as { _lookupImpl?: unknown })._lookupImpl;
        try {
          return super.lookup(path, filterTypes as never, parentAlreadyChecked);
        } finally {
          self._lookupImpl = hook;
        }
      }
    }
    expect(protobufjsInternalsProblem(Bypassing)).toMatch(/^a type was not built through Root\._lookupImpl \(no such type/);
    expect(() => assertProtobufjsInternals(Bypassing)).toThrow(`but protobufjs ${installed} is loaded: a type was not built`);
  });
});
