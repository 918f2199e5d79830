// Prints the top self-time and inclusive-time frames of a V8 .cpuprofile (from node --cpu-prof).
// Usage: node bench/harness/topFrames.mjs <file.cpuprofile> [count] [--from=µs] [--to=µs]
// --from/--to keep only the samples taken in that window, in the profile's clock (the monotonic
// clock of process.hrtime, in µs: config-scale prints its window when profiled). With a window,
// samples are counted one each, not weighted by timeDelta, so that a loaded machine's long gaps
// between samples do not weigh on whatever ran just before them.
import { readFileSync } from 'node:fs';

export function topFrames(profile, count = 25, window = undefined) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  const hits = new Map();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += dt[i] ?? 0;
    if (window && (at < window.from || at > window.to)) continue;
    hits.set(profile.samples[i], (hits.get(profile.samples[i]) ?? 0) + (window ? 1 : (dt[i] ?? 0)));
  }
  const total = [...hits.values()].reduce((a, b) => a + b, 0);
  const key = (n) => {
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\//, '').replace(/.*\/(packages|node_modules)\//, '$1/').replace(/^node:/, 'node:');
    return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
  };
  for (const [id, t] of hits) {
    const k = key(byId.get(id));
    self.set(k, (self.get(k) ?? 0) + t);
  }
  // Inclusive: walk parents.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  for (const [id, t] of hits) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  const fmt = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
  return { self: fmt(self), inclusive: fmt(incl) };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const from = flag('from');
  const to = flag('to');
  const count = process.argv.slice(3).find((a) => !a.startsWith('--'));
  const window = from || to ? { from: Number(from ?? -Infinity), to: Number(to ?? Infinity) } : undefined;
  const { self, inclusive } = topFrames(p, Number(count ?? 25), window);
  console.log('self time:\n' + self.join('\n') + '\n\ninclusive time:\n' + inclusive.join('\n'));
}
