import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runKdive } from '../support/cli-runner.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';
import { scratchDir } from '../support/own-resources.js';

/** `addr2line -f -i` (or llvm-symbolizer, which reads DWARF 5 file names right) on one address: [function, file:line] innermost first. */
function oracle(tool: 'addr2line' | 'llvm', vmlinux: string, address: string): string[][] {
  const out = tool === 'addr2line'
    ? execFileSync('addr2line', ['-f', '-i', '-e', vmlinux, address], { encoding: 'utf8' })
    : execFileSync('llvm-symbolizer-14', ['--obj', vmlinux, '--inlining', '--output-style=GNU', address], { encoding: 'utf8' });
  const lines = out.trim().split('\n');
  const pairs: string[][] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) pairs.push([lines[i]!, lines[i + 1]!.replace(/ \(discriminator \d+\)$/, '')]);
  return pairs;
}

for (const { name: version, spec, get, qemuFlags } of DEBIAN_KERNELS) {
  test(`${version}: kdive symbolize on a saved kernel trace (sysrq l and t) agrees with addr2line on every frame`, async () => {
    const kernel = await get();
    const run = await runKdive(['run', '--kernel', spec, ...qemuFlags, '--console', '--guest', 'echo l > /proc/sysrq-trigger; echo t > /proc/sysrq-trigger']);
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const dir = scratchDir('kdive-symbolize-');
    const saved = path.join(dir, 'console.log');
    writeFileSync(saved, run.stderr);
    const r = await runKdive(['symbolize', kernel.vmlinux!, saved, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: string; address: string; frames: { function: string; file: string | null; line: number | null }[] });
    assert.ok(lines.length > 100, `symbolized ${lines.length} trace entries`);
    const byAddress = new Map(lines.map((l) => [l.address, l]));
    const mismatches: string[] = [];
    for (const [address, l] of byAddress) {
      const ours = l.frames.map((f) => [f.function, `${f.file ?? '??'}:${f.line ?? '?'}`]);
      const a = oracle('addr2line', kernel.vmlinux!, address);
      if (JSON.stringify(ours) === JSON.stringify(a)) continue;
      // An address with no line (6.2+'s __pfx_ padding before a function): addr2line names the
      // symbol and some file of no meaning (`usercopy_64.c:?`); only the name can be compared.
      if (a.length === 1 && a[0]![1]!.endsWith(':?') && ours.length === 1 && ours[0]![0] === a[0]![0] && ours[0]![1] === '??:?') continue;
      const b = oracle('llvm', kernel.vmlinux!, address);
      if (JSON.stringify(ours) === JSON.stringify(b)) continue;
      mismatches.push(`${l.line.trim()} @ ${address}\n  kdive:     ${JSON.stringify(ours)}\n  addr2line: ${JSON.stringify(a)}`);
    }
    assert.deepEqual(mismatches, [], mismatches.slice(0, 10).join('\n'));
  });
}
