import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, open, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ElfFile, SymbolTable } from '../../src/symbols/elf/index.js';
import { OrcReg, OrcTable } from '../../src/symbols/orc/index.js';
import { FormatError } from '../../src/errors.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { scratchDir } from '../support/own-resources.js';

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

test('symbolize agrees with nm -S for 2,000 addresses over .text: the innermost sized symbol containing it, else the closest one before it', async () => {
  const { k, elf, table } = await loadVmlinux();
  const text = elf.section('.text')!;
  const nm = execFileSync('nm', ['-S', '--defined-only', k.vmlinux!], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // Code symbols (T t W w) with and without sizes, sorted by address.
  const code = nm.split('\n').map((l) => /^([0-9a-f]{16})(?: ([0-9a-f]{16}))? [TtWw] (\S+)$/.exec(l)).filter((m) => m !== null)
    .map((m) => ({ start: BigInt(`0x${m[1]}`), size: m[2] ? BigInt(`0x${m[2]}`) : 0n, name: m[3]! }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  assert.ok(code.length > 40_000, `nm listed ${code.length} code symbols`);
  const maxSize = code.reduce((m, s) => (s.size > m ? s.size : m), 0n);
  const lastAtOrBefore = (addr: bigint): number => {
    let lo = 0;
    let hi = code.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (code[mid]!.start <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };
  const counts = { contained: 0, preceding: 0 };
  for (let i = 0; i < 2000; i++) {
    const addr = text.addr + (BigInt(text.size) * BigInt(2 * i + 1)) / 4000n;
    const got = table.symbolize(addr);
    assert.ok(got, `0x${addr.toString(16)}`);
    const last = lastAtOrBefore(addr);
    const containing = [];
    for (let j = last; j >= 0 && code[j]!.start + maxSize > addr; j--) {
      if (code[j]!.size > 0n && addr < code[j]!.start + code[j]!.size) containing.push(code[j]!);
    }
    // The expected answer, and every alias of it (several names at one address are all right:
    // nm cannot tell FUNC from NOTYPE, and kdive picks the FUNC/global one among aliases).
    let expected: string[];
    if (containing.length > 0) {
      const innermost = containing[0]!.start; // scanned downwards: the first hit starts last
      expected = containing.filter((s) => s.start === innermost).map((s) => s.name);
      counts.contained++;
    } else {
      // Alignment padding between functions and unsized asm labels: the closest symbol before.
      expected = code.filter((s) => s.start === code[last]!.start).map((s) => s.name);
      counts.preceding++;
    }
    assert.ok(expected.includes(got.name), `0x${addr.toString(16)}: kdive says ${got.name}+0x${got.offset.toString(16)}, nm says one of ${expected.join(', ')}`);
    assert.equal(got.address + got.offset, addr);
  }
  // The one class where nm's "closest symbol before" and gdb's answer differ: unsized labels
  // inside a sized symbol (entry_SYSCALL_64_after_hwframe inside entry_SYSCALL_64). gdb prefers
  // the sized symbol that contains the address (minimal symbols: a zero-sized one only when no
  // sized one contains it), and so does kdive. The samples above rarely land there: test them all.
  let inner = 0;
  for (let j = 0; j < code.length; j++) {
    const label = code[j]!;
    if (label.size !== 0n) continue;
    let outer: typeof label | undefined;
    for (let o = j - 1; o >= 0 && code[o]!.start + maxSize > label.start; o--) {
      const c = code[o]!;
      if (c.size > 0n && c.start < label.start && label.start < c.start + c.size && (!outer || c.start > outer.start)) outer = c;
    }
    if (!outer || code.some((c) => c.start === label.start && c.size > 0n)) continue;
    const got = table.symbolize(label.start)!;
    const aliases = code.filter((c) => c.start === outer!.start && c.size > 0n).map((c) => c.name);
    assert.ok(aliases.includes(got.name), `0x${label.start.toString(16)} (label ${label.name}): kdive says ${got.name}, expected ${aliases.join(', ')}`);
    assert.equal(got.offset, label.start - outer.start);
    inner++;
  }
  assert.ok(inner > 10, `only ${inner} unsized labels inside sized symbols`);
  // No disagreement class was found on the Debian 6.1 vmlinux (checked on 20,000 addresses too):
  // no sized FUNC there contains a sized label of another name, so "FUNC first" and
  // "innermost first" give the same answer. Both kinds of address must have been exercised.
  assert.ok(counts.contained > 1000 && counts.preceding > 100, JSON.stringify(counts));
  await elf.close();
});

test('symbolize: addresses in data name their object, a return address just past a function needs pc-1', async () => {
  const { elf, table } = await loadVmlinux();
  const banner = table.lookup('linux_banner')[0]!;
  assert.equal(banner.type, 'object');
  assert.deepEqual(table.symbolize(banner.address + 5n), { name: 'linux_banner', address: banner.address, size: banner.size, offset: 5n });
  const fn = table.lookup('do_mkdirat')[0]!;
  assert.equal(table.symbolize(fn.address)!.name, 'do_mkdirat');
  assert.equal(table.symbolize(fn.address + BigInt(fn.size) - 1n)!.name, 'do_mkdirat');
  assert.notEqual(table.symbolize(fn.address + BigInt(fn.size) + 16n)!.name, 'do_mkdirat');
  // Per-CPU variables are linked at small offsets from 0 (not slid): 0 is fixed_percpu_data.
  assert.equal(table.symbolize(0n)!.name, 'fixed_percpu_data');
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
  const dir = scratchDir('kdive-elf-');
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
