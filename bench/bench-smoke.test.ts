import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { newQemuPids, qemuPids } from '../test/support/cli-runner.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const harness = fromSource ? path.join(here, 'run-benchmarks.ts') : path.join(here, 'run-benchmarks.js');

/** The harness must not rot: one quick run, every item measured for every tool. No thresholds here. */
test('npm run bench -- --quick measures every work item for gdb and kdive and writes a report', async () => {
  const before = qemuPids();
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'kdive-bench-')), 'BENCHMARKS.md');
  await promisify(execFile)(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), harness, '--quick', '--out', out], { timeout: 1_200_000, maxBuffer: 16 << 20 });
  const report = await readFile(out, 'utf8');
  for (const title of ['Resolve a breakpoint by name', 'info line do_mkdirat', 'ptype struct tcp_sock', 'Guest memory read', 'Single-step rate', 'Breakpoint-hit throughput:', 'Breakpoint-hit throughput over kgdb', 'The mkdir scenario', '(QEMU 10)', 'lx-ps', 'lx-dmesg']) {
    assert.ok(report.includes(title), `the report has ${title}`);
  }
  // Every table row has a number in its median column.
  const rows = report.split('\n').filter((l) => /^\| (gdb|kdive|drgn|kdive cold|kdive warm|kdive \(shared RAM\)) \|/.test(l));
  assert.ok(rows.length >= 14, `${rows.length} rows`);
  for (const r of rows) assert.match(r, /^\| [a-z ()A-Z]+ \| \d+(\.\d+)? \|/, r);
  assert.match(report, /kdive\/gdb = \d/);
  // The memory read was checked byte for byte against gdb's dump, in every run.
  const equal = /kdive's bytes equal gdb's dump in (\d+) of (\d+) runs/.exec(report);
  assert.ok(equal, 'the report states that kdive\'s bytes equal gdb\'s dump');
  assert.equal(equal[1], equal[2]);
  assert.ok(Number(equal[1]) >= 1);
  assert.deepEqual(newQemuPids(before), [], 'no QEMU left');
});
