import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { kdiveCacheDir } from '../../src/cache-dir.js';
import { ElfFile, SHT_SYMTAB, SymbolTable } from '../../src/symbols/elf/index.js';
import { isPerCpu, readKallsyms } from '../../src/symbols/kallsyms/index.js';
import { removeScratch, scratchDir } from '../support/own-resources.js';

/**
 * The Debian 6.1.192 cloud vmlinux (kallsyms in the 6.1 order with the backported
 * seqs_of_names), found where `kdive kernel fetch debian:cloud-amd64` leaves it; not fetched here.
 */
const VMLINUX = path.join(kdiveCacheDir(), 'kernels', 'linux-image-6.1.0-57-cloud-amd64_6.1.192-3', 'vmlinux');
const skip = existsSync(VMLINUX) ? false : `no ${VMLINUX} (run: kdive kernel fetch debian:cloud-amd64)`;

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

test('kallsyms decoded from .rodata (no .symtab used) agrees with nm: every function at nm\'s address', { skip }, async (t) => {
  const elf = await ElfFile.open(VMLINUX);
  await elf.readSection('.rodata');
  const started = performance.now();
  const { symbols, tables } = await readKallsyms(elf);
  const ms = performance.now() - started;
  t.diagnostic(`located and decoded ${symbols.length} symbols in ${ms.toFixed(0)} ms (${tables.order}, seqs_of_names ${tables.seqsOfNames !== undefined ? 'present' : 'absent'})`);
  assert.equal(symbols.length, 87_347);
  assert.equal(tables.order, 'offsets-first');
  assert.ok(tables.seqsOfNames !== undefined, 'the 6.1.192 backport of seqs_of_names');
  assert.ok(ms < 2000, `took ${ms} ms`);

  const nm = nmSymbols(VMLINUX);
  // kallsyms leaves some symbols out (absolute ones, __crc_*, …): compare kallsyms ⊆ nm.
  const functions = symbols.filter((s) => s.type === 'func' && s.binding !== 'weak');
  assert.ok(functions.length > 40_000, `${functions.length} function symbols`);
  for (const s of functions) {
    const seen = nm.get(s.name) ?? [];
    assert.ok(seen.some((e) => e.address === s.address && /^[Tt]$/.test(e.type)), `${s.name} at 0x${s.address.toString(16)}: nm has ${seen.map((e) => `${e.type} 0x${e.address.toString(16)}`).join(', ') || 'nothing'}`);
  }
  const table = SymbolTable.fromSymbols(symbols);
  for (const name of ['do_mkdirat', 'entry_SYSCALL_64']) assert.equal(table.functionAddress(name), nm.get(name)![0]!.address, name);
  const current = table.lookup('current_task');
  assert.equal(current.length, 1);
  assert.ok(isPerCpu(current[0]!));
  assert.equal(current[0]!.address, 0x1fb80n);
  assert.deepEqual(nm.get('current_task'), [{ address: 0x1fb80n, type: 'D' }]);
  await elf.close();
});

test('a stripped copy (no .symtab, as unpacked from a bzImage) gives the same symbols', { skip }, async () => {
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
