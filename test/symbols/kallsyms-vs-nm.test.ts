import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ElfFile, SHT_SYMTAB, SymbolTable } from '../../src/symbols/elf/index.js';
import { isPerCpu, readKallsyms } from '../../src/symbols/kallsyms/index.js';
import { removeScratch, scratchDir } from '../support/own-resources.js';
import { DEBIAN_KERNELS, getDebianKernel } from '../support/kernel-fixture.js';

/** nm's symbols by name: the oracle. */
function nmSymbols(file: string): Map<string, { address: bigint; type: string }[]> {
  const out = execFileSync('nm', [file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const byName = new Map<string, { address: bigint; type: string }[]>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{16}) (\S) (\S+)$/.exec(line);
    if (!m) continue;
    const list = byName.get(m[3]!) ?? [];
    list.push({ address: BigInt(`0x${m[1]}`), type: m[2]! });
    byName.set(m[3]!, list);
  }
  return byName;
}

for (const { name: version, get } of DEBIAN_KERNELS) {
  test(`kallsyms decoded from .rodata (no .symtab used) agrees with nm on the ${version} vmlinux: every function and per-CPU symbol at nm's address`, async (t) => {
    const vmlinux = (await get()).vmlinux!;
    const elf = await ElfFile.open(vmlinux);
    const { symbols, tables } = await readKallsyms(elf);
    await elf.close();
    t.diagnostic(`${symbols.length} symbols (${tables.order}, seqs_of_names ${tables.seqsOfNames !== undefined ? 'present' : 'absent'})`);
    // 6.1 writes the tables offsets first; 6.4 moved them after the names (scripts/kallsyms: change the output order).
    assert.equal(tables.order, version === '6.1' ? 'offsets-first' : 'num-syms-first');
    const nm = nmSymbols(vmlinux);
    // kallsyms leaves some symbols out (absolute ones, __crc_*, …): compare kallsyms ⊆ nm.
    const functions = symbols.filter((s) => s.type === 'func' && s.binding !== 'weak');
    assert.ok(functions.length > 40_000, `${functions.length} function symbols`);
    for (const s of functions) {
      const seen = nm.get(s.name) ?? [];
      assert.ok(seen.some((e) => e.address === s.address && /^[Tt]$/.test(e.type)), `${s.name} at 0x${s.address.toString(16)}: nm has ${seen.map((e) => `${e.type} 0x${e.address.toString(16)}`).join(', ') || 'nothing'}`);
    }
    const table = SymbolTable.fromSymbols(symbols);
    for (const name of ['do_mkdirat', 'entry_SYSCALL_64']) assert.equal(table.functionAddress(name), nm.get(name)![0]!.address, name);
    // Per-CPU symbols are offsets into each CPU's area (nm shows them in .data..percpu from 0).
    const perCpu = symbols.filter(isPerCpu);
    assert.ok(perCpu.length > 100, `${perCpu.length} per-CPU symbols`);
    for (const s of perCpu) assert.ok((nm.get(s.name) ?? []).some((e) => e.address === s.address), `per-CPU ${s.name} at 0x${s.address.toString(16)}`);
    assert.ok(perCpu.some((s) => s.name === (version === '6.1' ? 'current_task' : 'pcpu_hot')));
  });
}

test('a stripped copy (no .symtab, as unpacked from a bzImage) gives the same symbols', async () => {
  const VMLINUX = (await getDebianKernel()).vmlinux!;
  const dir = scratchDir('kdive-kallsyms-');
  try {
    const stripped = path.join(dir, 'vmlinux');
    execFileSync('objcopy', ['--strip-all', VMLINUX, stripped]);
    const elf = await ElfFile.open(stripped);
    assert.equal(elf.sections.find((s) => s.type === SHT_SYMTAB), undefined);
    const fromStripped = await readKallsyms(elf);
    await elf.close();
    const full = await ElfFile.open(VMLINUX);
    const fromFull = await readKallsyms(full);
    await full.close();
    assert.equal(fromStripped.symbols.length, fromFull.symbols.length);
    assert.deepEqual(fromStripped.symbols.slice(0, 1000), fromFull.symbols.slice(0, 1000));
    assert.deepEqual(fromStripped.symbols.at(-1), fromFull.symbols.at(-1));
  } finally {
    removeScratch(dir);
  }
});
