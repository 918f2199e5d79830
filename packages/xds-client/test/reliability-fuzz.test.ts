import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allFixtureResources } from './helpers/fixture-extract.js';
import { encodeProto3Json } from '../src/proto/ProtoJson.js';
import { ValidationError } from '../src/resources/ValidationError.js';
import { resourceTypeFor } from '../src/resources/KnownResourceTypes.js';
import { LIMITS } from '../src/resources/Limits.js';
import { RouteConfigurationResource } from '../src/resources/route/RouteConfigurationResource.js';
import { ListenerResource } from '../src/resources/listener/ListenerResource.js';
import type { ResourceType } from '../src/resources/ResourceType.js';

/**
 * Bad input, protobuf side: every resource type, starting from real valid encodings (the
 * fixtures from istiod, Envoy Gateway, Traffic Director, OSM and Envoy's examples that decode),
 * mutated the ways a broken or hostile control plane would: bit flips, truncation, and corrupted
 * length fields. The decoder must either accept the bytes or throw a ValidationError — never
 * another exception, never hang (each run is timed) — and the size limits of
 * src/resources/Limits.ts must reject oversized input with an error naming the limit.
 */

const RUNS_PER_MUTATION = 150;

interface Seed {
  readonly label: string;
  readonly type: ResourceType<unknown>;
  readonly bytes: Uint8Array;
}

/** Valid encodings, up to 6 per type, smallest-first variety (big ones too). */
function seeds(): Seed[] {
  const byType = new Map<string, Seed[]>();
  for (const r of allFixtureResources()) {
    const type = resourceTypeFor(r.typeUrl) as ResourceType<unknown> | undefined;
    if (!type) continue;
    let bytes: Uint8Array;
    try {
      bytes = encodeProto3Json(r.typeUrl, r.json);
      type.decode({ type_url: r.typeUrl, value: bytes });
    } catch {
      continue; // not valid as a whole (rejected fixtures are covered by fixtures-xds-real.test.ts)
    }
    const list = byType.get(r.typeUrl) ?? [];
    list.push({ label: `${r.file} ${r.name}`, type, bytes });
    byType.set(r.typeUrl, list);
  }
  const out: Seed[] = [];
  for (const list of byType.values()) {
    list.sort((a, b) => a.bytes.length - b.bytes.length);
    const pick = [0, 0.2, 0.4, 0.6, 0.8, 1].map((f) => list[Math.min(list.length - 1, Math.floor(f * (list.length - 1)))]!);
    out.push(...new Set(pick));
  }
  return out;
}

/** Offsets of every length-delimited field's length varint, walking nested messages that parse cleanly. */
function lengthFields(buf: Uint8Array): Array<{ at: number; size: number; len: number }> {
  const found: Array<{ at: number; size: number; len: number }> = [];
  const varint = (pos: number): [number, number] | undefined => {
    let v = 0;
    let mul = 1;
    for (let i = pos; i < buf.length && i < pos + 10; i++) {
      v += (buf[i]! & 0x7f) * mul;
      mul *= 128;
      if ((buf[i]! & 0x80) === 0) return [v, i + 1 - pos];
    }
    return undefined;
  };
  const walk = (start: number, end: number): boolean => {
    const local: Array<{ at: number; size: number; len: number; body: number }> = [];
    let pos = start;
    while (pos < end) {
      const tag = varint(pos);
      if (!tag || tag[0] === 0) return false;
      pos += tag[1];
      const wire = tag[0] % 8;
      if (wire === 0) {
        const v = varint(pos);
        if (!v) return false;
        pos += v[1];
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const l = varint(pos);
        if (!l) return false;
        local.push({ at: pos, size: l[1], len: l[0], body: pos + l[1] });
        pos += l[1] + l[0];
      } else return false;
      if (pos > end) return false;
    }
    for (const f of local) {
      found.push({ at: f.at, size: f.size, len: f.len });
      walk(f.body, f.body + f.len);
    }
    return true;
  };
  walk(0, buf.length);
  return found;
}

function encodeVarint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

interface Tally {
  runs: number;
  accepted: number;
  rejected: number;
  maxMs: number;
  reasons: Record<string, number>;
}

/** Decodes, allowing only success or ValidationError; times the call. */
function decodeChecked(seed: Seed, bytes: Uint8Array, tally: Tally): void {
  const t0 = performance.now();
  try {
    seed.type.decode({ type_url: seed.type.typeUrl, value: bytes });
    tally.accepted++;
  } catch (e) {
    if (!(e instanceof ValidationError)) throw new Error(`${seed.label}: ${String((e as Error)?.stack ?? e)}`);
    tally.rejected++;
    const kind = e.reason.startsWith('malformed') ? 'malformed' : e.reason.startsWith('internal error') ? 'internal' : 'invalid field';
    tally.reasons[kind] = (tally.reasons[kind] ?? 0) + 1;
  }
  const ms = performance.now() - t0;
  tally.runs++;
  tally.maxMs = Math.max(tally.maxMs, ms);
}

const SEEDS = seeds();
const tallies: Record<string, Tally> = {};
const tallyFor = (name: string): Tally => (tallies[name] ??= { runs: 0, accepted: 0, rejected: 0, maxMs: 0, reasons: {} });

describe('fuzz: mutated real protobuf encodings decode or fail with ValidationError only', () => {
  it('has valid seeds of all four resource types', () => {
    const types = new Set(SEEDS.map((s) => s.type.shortName));
    expect([...types].sort()).toEqual(['CDS', 'EDS', 'LDS', 'RDS']);
  });

  const seedArb = fc.constantFrom(...SEEDS);

  it('bit flips (1-8 random bits)', () => {
    const tally = tallyFor('bit flips');
    fc.assert(
      fc.property(seedArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }), (seed, flips) => {
        const copy = Uint8Array.from(seed.bytes);
        for (const [i, bit] of flips) copy[i % copy.length] ^= 1 << bit;
        decodeChecked(seed, copy, tally);
      }),
      { numRuns: RUNS_PER_MUTATION * 4 },
    );
    expect(tally.maxMs).toBeLessThan(1000);
  });

  it('truncation at every kind of point', () => {
    const tally = tallyFor('truncation');
    fc.assert(
      fc.property(seedArb, fc.double({ min: 0, max: 1, noNaN: true }), (seed, f) => {
        decodeChecked(seed, seed.bytes.subarray(0, Math.floor(f * seed.bytes.length)), tally);
      }),
      { numRuns: RUNS_PER_MUTATION * 2 },
    );
    // And every prefix of the smallest seed of each type, exhaustively.
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS']) {
      const s = SEEDS.find((x) => x.type.shortName === t)!;
      for (let n = 0; n < s.bytes.length; n++) decodeChecked(s, s.bytes.subarray(0, n), tally);
    }
    expect(tally.maxMs).toBeLessThan(1000);
  });

  it('corrupted length fields (nested too): huge, zero, off by a few', () => {
    const tally = tallyFor('length corruption');
    const fieldsOf = new Map(SEEDS.map((s) => [s, lengthFields(s.bytes)]));
    expect([...fieldsOf.values()].every((f) => f.length > 0)).toBe(true);
    fc.assert(
      fc.property(
        seedArb,
        fc.nat(),
        fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.constant(2 ** 31), fc.integer({ min: -4, max: 4 }), fc.nat({ max: 1 << 24 })),
        fc.boolean(),
        (seed, which, delta, absolute) => {
          const fields = fieldsOf.get(seed)!;
          const f = fields[which % fields.length]!;
          const len = absolute || Math.abs(delta) > 4 ? Math.abs(delta) : Math.max(0, f.len + delta);
          const bytes = Uint8Array.from([...seed.bytes.subarray(0, f.at), ...encodeVarint(len), ...seed.bytes.subarray(f.at + f.size)]);
          decodeChecked(seed, bytes, tally);
        },
      ),
      { numRuns: RUNS_PER_MUTATION * 4 },
    );
    expect(tally.maxMs).toBeLessThan(1000);
  });

  it('spliced: bytes of one resource type fed to every decoder, and random garbage appended', () => {
    const tally = tallyFor('splice');
    fc.assert(
      fc.property(seedArb, seedArb, fc.uint8Array({ maxLength: 64 }), (a, b, tail) => {
        decodeChecked(a, b.bytes, tally);
        decodeChecked(a, Uint8Array.from([...a.bytes, ...tail]), tally);
      }),
      { numRuns: RUNS_PER_MUTATION },
    );
    expect(tally.maxMs).toBeLessThan(1000);
    console.log(`RELIABILITY ${JSON.stringify({ test: 'xds-client fuzz: mutated protobuf encodings', seeds: SEEDS.length, seedBytes: SEEDS.map((s) => s.bytes.length), mutations: tallies })}`);
  });
});

describe('limits (src/resources/Limits.ts): oversized input is rejected with an error naming the limit', () => {
  const rc = (extra: Record<string, unknown>, route: Record<string, unknown> = {}) => ({
    name: 'rc',
    virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [route.direct_response ? { match: { prefix: '/' }, ...route } : { match: { prefix: '/' }, route: { cluster: 'c' }, ...route }] }],
    ...extra,
  });
  const rejects = (fn: () => unknown): ValidationError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      return e as ValidationError;
    }
    throw new Error('expected a ValidationError');
  };
  const figures: Record<string, unknown> = {};

  it('MAX_RESOURCE_BYTES: a resource over 16 MiB is refused before decoding', () => {
    const body = 'x'.repeat(LIMITS.MAX_RESOURCE_BYTES);
    const bytes = encodeProto3Json(RouteConfigurationResource.typeUrl, rc({}, { direct_response: { status: 200, body: { inline_string: body } } }));
    expect(bytes.length).toBeGreaterThan(LIMITS.MAX_RESOURCE_BYTES);
    const t0 = performance.now();
    const e = rejects(() => RouteConfigurationResource.decode({ type_url: RouteConfigurationResource.typeUrl, value: bytes }));
    figures.oversizedRejectMs = +(performance.now() - t0).toFixed(2);
    expect(e.message).toBe(`encoded envoy.config.route.v3.RouteConfiguration has ${bytes.length} bytes, over the limit of 16777216 (MAX_RESOURCE_BYTES)`);
    // Just under the limit decodes.
    const ok = encodeProto3Json(RouteConfigurationResource.typeUrl, rc({}, { direct_response: { status: 200, body: { inline_string: 'x'.repeat(1 << 20) } } }));
    expect(RouteConfigurationResource.decode({ type_url: RouteConfigurationResource.typeUrl, value: ok }).name).toBe('rc');
  });

  it('MAX_ROUTES_PER_VIRTUAL_HOST and MAX_VIRTUAL_HOSTS: 100,001 entries are refused, 100,000 routes accepted', () => {
    const r = { match: { prefix: '/' }, route: { cluster: 'c' } };
    const tooMany = Array.from({ length: LIMITS.MAX_ROUTES_PER_VIRTUAL_HOST + 1 }, () => r);
    const e = rejects(() => RouteConfigurationResource.fromObject({ name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: tooMany }] }));
    expect(e.message).toBe('rc: virtual_hosts[0].routes: the route list has 100001 entries, over the limit of 100000 (MAX_ROUTES_PER_VIRTUAL_HOST)');
    const vh = { name: 'vh', domains: ['*'], routes: [r] };
    const e2 = rejects(() => RouteConfigurationResource.fromObject({ name: 'rc', virtual_hosts: Array.from({ length: LIMITS.MAX_VIRTUAL_HOSTS + 1 }, () => vh) }));
    expect(e2.message).toBe('rc: virtual_hosts: the virtual host list has 100001 entries, over the limit of 100000 (MAX_VIRTUAL_HOSTS)');
    const t0 = performance.now();
    const ok = RouteConfigurationResource.fromObject({ name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: tooMany.slice(1) }] });
    figures.validate100kRoutesMs = Math.round(performance.now() - t0);
    expect((ok.resource as unknown as { virtual_hosts: Array<{ routes: unknown[] }> }).virtual_hosts[0]!.routes).toHaveLength(100_000);
  });

  it('header sizes: mutation names/values (16 KiB, Envoy PGV), matcher strings (60 KiB); regex source (8 KiB)', () => {
    const big = (n: number) => 'v'.repeat(n);
    const add = (header: Record<string, unknown>) => RouteConfigurationResource.fromObject(rc({}, { request_headers_to_add: [{ header }] }));
    expect(rejects(() => add({ key: 'x-a', value: big(16_385) })).message).toBe(
      'rc: virtual_hosts[0].routes[0].request_headers_to_add[0].header.value: the header value has 16385 bytes, over the limit of 16384 (MAX_HEADER_VALUE_BYTES)',
    );
    expect(add({ key: 'x-a', value: big(16_384) }).name).toBe('rc');
    expect(rejects(() => add({ key: big(16_385), value: 'v' })).fieldPath).toBe('virtual_hosts[0].routes[0].request_headers_to_add[0].header.key');
    // Multi-byte UTF-8 counts in bytes: 5,462 x "€" (3 bytes) = 16,386 bytes.
    expect(rejects(() => add({ key: 'x-a', value: '€'.repeat(5_462) })).reason).toMatch(/16386 bytes.*MAX_HEADER_VALUE_BYTES/);
    const remove = rejects(() => RouteConfigurationResource.fromObject(rc({ response_headers_to_remove: [big(16_385)] })));
    expect(remove.fieldPath).toBe('response_headers_to_remove[0]');

    const match = (headers: Record<string, unknown>[]) => RouteConfigurationResource.fromObject(rc({}, { match: { prefix: '/', headers } }));
    expect(rejects(() => match([{ name: 'x-a', exact_match: big(60 * 1024 + 1) }])).message).toBe(
      'rc: virtual_hosts[0].routes[0].match.headers[0].exact_match: the string has 61441 bytes, over the limit of 61440 (MAX_MATCH_STRING_BYTES)',
    );
    expect(rejects(() => match([{ name: 'x-a', string_match: { prefix: big(60 * 1024 + 1) } }])).fieldPath).toBe('virtual_hosts[0].routes[0].match.headers[0].string_match.prefix');
    expect(rejects(() => match([{ name: big(16_385), present_match: true }])).reason).toMatch(/MAX_HEADER_NAME_BYTES/);
    expect(match([{ name: 'x-a', exact_match: big(60 * 1024) }]).name).toBe('rc');

    const regex = (r: string) => RouteConfigurationResource.fromObject(rc({}, { match: { safe_regex: { regex: r } } }));
    expect(rejects(() => regex(`/${'a'.repeat(8_192)}`)).message).toBe(
      'rc: virtual_hosts[0].routes[0].match.safe_regex.regex: the regex has 8193 bytes, over the limit of 8192 (MAX_REGEX_BYTES)',
    );
    expect(regex(`/${'a'.repeat(8_191)}`).name).toBe('rc');
    // A short pattern cannot expand into a huge RE2 program: RE2 caps repetition counts itself.
    expect(rejects(() => regex('((a{100}){100}){100}')).reason).toMatch(/invalid RE2 regex: .*invalid repetition size/);
  });

  it('limits apply to inline route configs in listeners too (same decoder)', () => {
    const hcm = {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      route_config: rc({}, { request_headers_to_add: [{ header: { key: 'x-a', value: 'v'.repeat(16_385) } }] }),
      http_filters: [{ name: 'router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    };
    const bytes = encodeProto3Json(ListenerResource.typeUrl, { name: 'l', apiListener: { apiListener: hcm } });
    const e = rejects(() => ListenerResource.decode({ type_url: ListenerResource.typeUrl, value: bytes }));
    expect(e.reason).toMatch(/MAX_HEADER_VALUE_BYTES/);
    expect(e.fieldPath).toMatch(/route_config\.virtual_hosts\[0\]\.routes\[0\]\.request_headers_to_add\[0\]\.header\.value$/);
    console.log(`RELIABILITY ${JSON.stringify({ test: 'xds-client limits', limits: LIMITS, ...figures })}`);
  });
});
