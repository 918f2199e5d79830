// How long one regex_rewrite takes on paths up to the mesh's 60 KiB request-path limit
// (packages/http's MAX_PATH_LENGTH, Envoy's default max_request_headers_kb), with RE2 as
// re2-wasm runs it (packages/core/src/routing/PathRewriter.ts, Re2GlobalReplace.ts). Not a test: it prints CPU time
// per rewrite for each case and path length, so the cost of the worst cases can be judged.
//
//   pnpm build && node bench/regex-rewrite.mjs [--iterations N] [--core DIR] [--kib 1,4,8,60]
//
// --core: another build's packages/core directory (an A/B baseline); default this tree's.
// --kib: the path lengths to run, in KiB.
// A rewrite over Meshlet's bounds (MAX_REGEX_REWRITE_PATH_LENGTH in PathRewriter.ts,
// MAX_RE2_REPLACE_SEARCHES in Re2GlobalReplace.ts) throws: its row says `refused` and its time is
// the time until it did.
//
// Cases: one match with three greedy captures (the pattern the review named), a pattern that
// matches nowhere (one full scan), and patterns with one match per segment (a global replace
// of many matches: each match is one RE2 call).
import { parseArgs } from 'node:util';

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '5' }, core: { type: 'string' }, kib: { type: 'string', default: '1,4,8,60' } } });
const iterations = Number(values.iterations);
const core = values.core ? pathToFileURL(resolve(values.core) + '/').href : new URL('../packages/core/', import.meta.url).href;
const { compilePathRewriter } = await import(new URL('dist/routing/PathRewriter.js', core).href);

const KIB = 1024;
const LENGTHS = values.kib.split(',').map((k) => Number(k) * KIB);

/** A path of `length` characters: `/` then segments of `segment` letters separated by `/`. */
function pathOf(length, segment) {
  let path = '';
  let i = 0;
  while (path.length < length) path += '/' + String.fromCharCode(97 + (i++ % 26)).repeat(segment);
  return path.slice(0, length);
}

const CASES = [
  { name: 'three captures ^/(.*)/(.*)/(.*)$ -> /\\3/\\2/\\1', pattern: '^/(.*)/(.*)/(.*)$', substitution: '/\\3/\\2/\\1', segment: 64 },
  { name: 'no match (^/api/v1/(.*)$ on another path)', pattern: '^/api/v1/(.*)$', substitution: '/\\1', segment: 64 },
  { name: 'collapse slashes /+ -> / (one match per 64-char segment)', pattern: '/+', substitution: '/', segment: 64 },
  { name: 'collapse slashes /+ -> / (one match per 8-char segment)', pattern: '/+', substitution: '/', segment: 8 },
  { name: 'every segment [^/]+ -> x (one match per 8-char segment)', pattern: '[^/]+', substitution: 'x', segment: 8 },
];

const matcher = { kind: 'prefix', value: '/' };
const rows = [];
for (const c of CASES) {
  const rewriter = compilePathRewriter({ regex_rewrite: { pattern: { regex: c.pattern }, substitution: c.substitution } }, matcher, 'bench');
  for (const length of LENGTHS) {
    const path = pathOf(length, c.segment);
    attempt(rewriter, path); // warm up (JIT, WASM memory growth)
    const samples = [];
    let outcome = '';
    for (let i = 0; i < iterations; i++) {
      const before = process.cpuUsage();
      outcome = attempt(rewriter, path);
      const used = process.cpuUsage(before);
      samples.push((used.user + used.system) / 1000);
    }
    samples.sort((a, b) => a - b);
    rows.push({ case: c.name, path_kib: length / KIB, matches: countMatches(c.pattern, path), cpu_ms_median: round(samples[samples.length >> 1]), cpu_ms_min: round(samples[0]), outcome });
  }
}
console.table(rows);

// The common case for comparison: a short path, one match (per rewrite, averaged over many).
const typical = compilePathRewriter({ regex_rewrite: { pattern: { regex: '^/service/([^/]+)(/.*)$' }, substitution: '\\2/instance/\\1' } }, matcher, 'bench');
const typicalPath = '/service/reviews/api/v1/products/12345/reviews/67890/comments';
const n = 20_000;
for (let i = 0; i < 2_000; i++) typical.rewrite(typicalPath);
const before = process.cpuUsage();
for (let i = 0; i < n; i++) typical.rewrite(typicalPath);
const used = process.cpuUsage(before);
console.log(`typical: ${typicalPath.length}-char path, one match: ${round((used.user + used.system) / n)} us CPU per rewrite (${n} rewrites)`);

/** `rewritten to N chars`, or `refused` when the rewrite threw (a bound). */
function attempt(rewriter, path) {
  try {
    return `rewritten to ${rewriter.rewrite(path).length} chars`;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return 'refused';
  }
}

function countMatches(pattern, path) {
  let n = 0;
  for (const _ of path.matchAll(new RegExp(pattern, 'g'))) n++;
  return n;
}

function round(ms) {
  return Math.round(ms * 1000) / 1000;
}
