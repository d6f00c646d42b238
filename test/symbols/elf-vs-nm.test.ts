import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, open, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ElfFile, SymbolTable } from '../../src/symbols/elf/index.js';
import { OrcReg, OrcTable } from '../../src/symbols/orc/index.js';
import { FormatError } from '../../src/errors.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

async function loadVmlinux() {
  const k = await getDebianKernel();
  const elf = await ElfFile.open(k.vmlinux!);
  return { k, elf, table: await SymbolTable.fromElf(elf) };
}

test('every function symbol nm lists is found by name at nm\'s address', async () => {
  const { k, elf, table } = await loadVmlinux();
  const nm = execFileSync('nm', [k.vmlinux!], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const byName = new Map<string, Set<bigint>>();
  for (const line of nm.split('\n')) {
    const m = /^([0-9a-f]{16}) ([TtWw]) (\S+)$/.exec(line);
    if (!m) continue;
    const set = byName.get(m[3]!) ?? new Set();
    set.add(BigInt(`0x${m[1]}`));
    byName.set(m[3]!, set);
  }
  assert.ok(byName.size > 40_000, `nm listed ${byName.size} text symbols`);
  let checked = 0;
  for (const [name, addresses] of byName) {
    const ours = new Set(table.lookup(name).map((s) => s.address));
    for (const a of addresses) assert.ok(ours.has(a), `${name} at 0x${a.toString(16)}`);
    if (addresses.size === 1) assert.equal(table.functionAddress(name), [...addresses][0], name);
    checked++;
  }
  assert.equal(checked, byName.size);
  await elf.close();
});

test('symbolize names the sized symbol containing an address, for 2,000 addresses over .text (nm -S as the oracle)', async () => {
  const { k, elf, table } = await loadVmlinux();
  const text = elf.section('.text')!;
  const nm = execFileSync('nm', ['-S', '--defined-only', k.vmlinux!], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // Sized code symbols from nm, sorted: the oracle answer is the one whose [start, start+size) holds the address.
  const sized = nm.split('\n').map((l) => /^([0-9a-f]{16}) ([0-9a-f]{16}) [TtWw] (\S+)$/.exec(l)).filter(Boolean)
    .map((m) => ({ start: BigInt(`0x${m![1]}`), end: BigInt(`0x${m![1]}`) + BigInt(`0x${m![2]}`), name: m![3]! }))
    .filter((s) => s.end > s.start)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let compared = 0;
  for (let i = 0; i < 2000; i++) {
    const addr = text.addr + (BigInt(text.size) * BigInt(i)) / 2000n;
    const containing = sized.filter((s) => s.start <= addr && addr < s.end);
    if (containing.length === 0) continue; // padding between functions: no oracle answer
    const got = table.symbolize(addr);
    assert.ok(got, `0x${addr.toString(16)}`);
    // Aliases (several names for one function) are all correct answers.
    assert.ok(containing.some((s) => s.name === got.name), `0x${addr.toString(16)}: ${got.name} not in ${containing.map((s) => s.name).join(',')}`);
    assert.equal(got.offset, addr - containing.find((s) => s.name === got.name)!.start);
    compared++;
  }
  assert.ok(compared > 1200, `compared ${compared}`);
  await elf.close();
});

test('build-id and sections agree with readelf', async () => {
  const { k, elf } = await loadVmlinux();
  const notes = execFileSync('readelf', ['-n', k.vmlinux!], { encoding: 'utf8' });
  assert.equal(await elf.buildId(), /Build ID: ([0-9a-f]+)/.exec(notes)![1]);
  const sections = execFileSync('readelf', ['-S', '-W', k.vmlinux!], { encoding: 'utf8' });
  let n = 0;
  for (const m of sections.matchAll(/^\s*\[\s*(\d+)\] (\S+)\s+\S+\s+([0-9a-f]{16}) ([0-9a-f]+) ([0-9a-f]+)/gm)) {
    const sec = elf.sections[Number(m[1])]!;
    assert.equal(sec.name, m[2]);
    assert.equal(sec.addr, BigInt(`0x${m[3]}`));
    assert.equal(sec.offset, parseInt(m[4]!, 16));
    assert.equal(sec.size, parseInt(m[5]!, 16));
    n++;
  }
  assert.equal(n, elf.sections.length - 1); // readelf's regex skips the null section 0
  const table = await SymbolTable.fromElf(elf);
  const banner = await elf.readVirtual(table.lookup('linux_banner')[0]!.address, 14);
  assert.equal(banner.toString('latin1'), 'Linux version ');
  await elf.close();
});

test('ORC: one entry per .orc_unwind_ip slot; entry_SYSCALL_64 ends the stack, do_mkdirat is an SP-based call frame', async () => {
  const { elf, table } = await loadVmlinux();
  const orc = await OrcTable.fromElf(elf);
  assert.equal(orc.length, elf.section('.orc_unwind_ip')!.size / 4);
  const entry = orc.find(table.functionAddress('entry_SYSCALL_64')!)!;
  assert.equal(entry.spReg, OrcReg.UNDEFINED);
  assert.equal(entry.end, true);
  const fn = orc.find(table.functionAddress('do_mkdirat')! + 1n)!;
  assert.equal(fn.type, 'call');
  assert.equal(fn.spReg, OrcReg.SP);
  assert.equal(fn.spOffset, 8); // just the return address on the stack at entry
  await elf.close();
});

test('truncated and non-ELF files give one FormatError naming the file and an offset', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kdive-elf-'));
  const cases: [string, (f: string) => Promise<void>][] = [
    ['first-100-bytes', async (f) => { await copyFile('/bin/true', f); await truncate(f, 100); }],
    ['first-3000-bytes', async (f) => { await copyFile('/bin/true', f); await truncate(f, 3000); }],
    ['text-file', async (f) => writeFile(f, 'hello, not an elf\n')],
    ['sections-past-end', async (f) => {
      await copyFile('/bin/true', f);
      const fh = await open(f, 'r+');
      const off = Buffer.alloc(8);
      off.writeBigUInt64LE(1n << 40n);
      await fh.write(off, 0, 8, 40); // e_shoff far past the end
      await fh.close();
    }],
  ];
  for (const [name, make] of cases) {
    const file = path.join(dir, name);
    await make(file);
    await assert.rejects(ElfFile.open(file), (e: Error) => {
      assert.ok(e instanceof FormatError, `${name}: ${e}`);
      assert.ok(e.message.startsWith(`${file}: at offset 0x`), e.message);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
  }
});

test('the in-place .symtab scan finds the same function address as the full table', async () => {
  const { elf, table } = await loadVmlinux();
  const names = [...table.functions()].filter((_, i) => i % 997 === 0).map((s) => s.name);
  names.push('do_mkdirat', 'entry_SYSCALL_64', 'no_such_function_here');
  for (const name of names) assert.equal(await SymbolTable.findFunction(elf, name), table.functionAddress(name), name);
  await elf.close();
});
