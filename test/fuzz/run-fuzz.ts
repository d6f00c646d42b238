/**
 * `npm run fuzz [-- --runs N] [--only TEXT] [--skip TEXT] [--seed N]`: every fuzz property, 100,000 cases each by
 * default, with a table of the cases run and the time per parser. Exits non-zero when a property
 * fails, printing its shrunk input and the seed that makes it again.
 */
import { parseArgs } from 'node:util';
import { allProperties } from './all-properties.js';
import { runProperty, type FuzzRun } from './fuzz-property.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, only: { type: 'string' }, skip: { type: 'string' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs <= 0) {
  process.stderr.write(`fuzz: --runs ${values.runs}: expected a positive whole number\n`);
  process.exit(2);
}
const named = (p: { parser: string; name: string }, text: string) => `${p.parser}: ${p.name}`.toLowerCase().includes(text.toLowerCase());
const chosen = allProperties().filter((p) => (!values.only || named(p, values.only)) && (!values.skip || !named(p, values.skip)));
if (chosen.length === 0) {
  process.stderr.write(`fuzz: no property matches --only ${values.only}\n`);
  process.exit(2);
}
const results: FuzzRun[] = [];
for (const p of chosen) {
  process.stderr.write(`${p.parser}: ${p.name} ...\n`);
  const r = await runProperty(p, runs, values.seed === undefined ? undefined : Number(values.seed));
  results.push(r);
  if (r.failure) process.stderr.write(`FAILED ${r.failure}\n`);
}
await Promise.all(chosen.map((p) => p.dispose?.()));
const byParser = new Map<string, { cases: number; ms: number; slowest: number; failed: number; properties: number }>();
for (const r of results) {
  const t = byParser.get(r.parser) ?? { cases: 0, ms: 0, slowest: 0, failed: 0, properties: 0 };
  t.cases += r.cases;
  t.ms += r.ms;
  t.slowest = Math.max(t.slowest, r.slowestMs);
  t.failed += r.failure ? 1 : 0;
  t.properties++;
  byParser.set(r.parser, t);
}
const rows = [['parser', 'properties', 'cases', 'time (s)', 'slowest case (ms)', 'result']];
for (const [parser, t] of byParser) rows.push([parser, String(t.properties), String(t.cases), (t.ms / 1000).toFixed(1), t.slowest.toFixed(1), t.failed ? `${t.failed} FAILED` : 'ok']);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}\n`);
const failed = results.filter((r) => r.failure).length;
process.stdout.write(`${results.length} properties, ${results.reduce((n, r) => n + r.cases, 0)} cases, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
