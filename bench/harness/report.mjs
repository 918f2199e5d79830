/** Formats scenario records as one plain-text table. */

function fmt(v, unit) {
  if (v === undefined || Number.isNaN(v)) return '-';
  const abs = Math.abs(v);
  const digits = unit === 'ratio' ? 3 : abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 1 : 2;
  const n = abs >= 1e6 ? v.toExponential(2) : v.toFixed(digits);
  return n;
}

export function formatTable(records) {
  const rows = [['scenario', 'metric', 'median', 'spread (p25..p75 | min..max)', 'unit', 'target', 'met']];
  for (const r of records) {
    if (r.skipped) {
      rows.push([r.scenario, `SKIPPED: ${r.skipped}`, '', '', '', '', '']);
      continue;
    }
    if (r.error) {
      rows.push([r.scenario, `FAILED: ${r.error}`, '', '', '', '', '']);
      continue;
    }
    for (const m of r.metrics ?? []) {
      const spread = m.n > 1 ? `${fmt(m.p25, m.unit)}..${fmt(m.p75, m.unit)} | ${fmt(m.min, m.unit)}..${fmt(m.max, m.unit)}` : '';
      rows.push([
        r.scenario,
        m.name,
        fmt(m.median, m.unit),
        spread,
        m.unit,
        m.target ? `${m.target.op} ${m.target.value}` : '',
        m.target ? (m.met ? 'yes' : 'NO') : '',
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  const line = (row) => row.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function printTable(records) {
  process.stdout.write(`\n${formatTable(records)}\n`);
  for (const r of records) for (const n of r.notes ?? []) process.stdout.write(`  [${r.scenario}] ${n}\n`);
}
