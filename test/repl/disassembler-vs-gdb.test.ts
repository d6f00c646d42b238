import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { disassemble } from '../../src/arch/x86_64/disassembler.js';
import { KernelSymbols } from '../../src/session/kernel-symbols.js';
import { sessionEngineSymbols } from '../../src/session/expression-scope.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/** gdb's `x/Ni` on the vmlinux file is the oracle: same instructions, same AT&T text, same branch symbols. */
test('disassembly of kernel functions matches gdb x/i instruction for instruction', async () => {
  const kernel = await getDebianKernel();
  const symbols = await KernelSymbols.open(kernel.vmlinux!);
  try {
    const names = sessionEngineSymbols(symbols);
    const mismatches: string[] = [];
    for (const fn of ['do_mkdirat', 'ksys_read', 'schedule']) {
      const start = symbols.table.functionAddress(fn)!;
      const ours = disassemble(await symbols.elf.readVirtual(start, 400), start, (a) => names.symbolAt(a), 60);
      const gdb = execFileSync('gdb', ['-nx', '-batch', '-ex', `x/60i 0x${start.toString(16)}`, kernel.vmlinux!], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => /^\s*(0x[0-9a-f]+)(?: <[^>]+>)?:\t(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null);
      assert.equal(gdb.length, 60, `gdb printed 60 instructions of ${fn}`);
      for (const [i, m] of gdb.entries()) {
        const o = ours[i];
        const got = o ? `0x${o.address.toString(16)} ${o.text}` : '<none>';
        const want = `${m[1]} ${m[2]!.replace(/\s+$/, '')}`;
        if (got !== want) mismatches.push(`${fn}+${i}: gdb ${want}\n${' '.repeat(fn.length + 4)}kdive ${got}`);
      }
    }
    // A handful of spelling differences (prefixes, nop forms) would be tolerable; none are expected.
    assert.deepEqual(mismatches, [], mismatches.join('\n'));
  } finally {
    await symbols.close();
  }
});
