import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError, NotFoundError } from '../../src/errors.js';
import { ElfFile, SymbolTable } from '../../src/symbols/elf/index.js';
import { DwarfInfo, DwarfNameIndex, DwarfSections, DwarfUnit, DW_AT, DW_TAG, readLineTable, findRow, attrNumber, attrString, type ExpressionContext } from '../../src/symbols/dwarf/index.js';
import { openTinyElf, writeTinyElf } from '../support/tiny-elf-writer.js';
import { DwarfWriter, expr, op } from '../support/dwarf-writer.js';
import { ADD, BANNER, buildToyKernel, CALLER, ENTRY_ASM, INIT_TASK, INLINED_HELPER, TEXT, UTIL_COUNT, UTIL_FN, type ToyKernel } from '../support/toy-kernel.js';

let toy: ToyKernel;
let elf: ElfFile;
let dwarf: DwarfInfo;

before(async () => {
  toy = buildToyKernel();
  elf = (await openTinyElf(toy.bytes, 'vmlinux')).elf;
  dwarf = await DwarfInfo.open(elf, () => SymbolTable.fromElf(elf));
});
after(() => elf.close());

const hex = (a: bigint | undefined) => (a === undefined ? 'none' : `0x${a.toString(16)}`);

test('the unit headers: a DWARF 5 unit then a DWARF 4 one, each with its own abbreviations', async () => {
  assert.deepEqual(await dwarf.allUnitOffsets(), toy.unitOffsets);
  const [first, second] = await Promise.all(toy.unitOffsets.map((o) => dwarf.unit(o)));
  assert.equal(first!.header.version, 5);
  assert.equal(first!.header.firstDie, toy.unitOffsets[0]! + 12);
  assert.equal(second!.header.version, 4);
  assert.equal(second!.header.firstDie, toy.unitOffsets[1]! + 11);
  assert.equal(second!.header.offset, first!.header.end);
  assert.notEqual(second!.header.abbrevOffset, 0);
});

test('DIE attributes in their forms: strp and line_strp strings, data constants, addresses, exprloc blocks, flags', async () => {
  const root = await (await dwarf.unit(toy.unitOffsets[0]!)).root();
  assert.equal(root.tag, DW_TAG.compile_unit);
  assert.equal(attrString(root, DW_AT.name), 'main.c'); // line_strp
  assert.equal(attrString(root, DW_AT.producer), 'kdive test writer'); // strp
  assert.equal(root.attrs.get(DW_AT.low_pc), TEXT);
  assert.equal(attrNumber(root, DW_AT.language), 0x1d);
  const add = root.children.find((d) => d.tag === DW_TAG.subprogram && attrString(d, DW_AT.name) === 'add')!;
  assert.equal(add.offset, toy.dieOffsets.get('add'));
  assert.equal(add.attrs.get(DW_AT.external), true);
  assert.deepEqual(add.attrs.get(DW_AT.frame_base), Buffer.from([0x9c]));
  assert.deepEqual(add.children.map((c) => attrString(c, DW_AT.name) ?? c.tag), ['a', 'b', 'sum', DW_TAG.lexical_block]);
  assert.equal(add.children[0]!.parent, add);
  // A ref4 is made absolute: the type of `a` is the unit's `int`.
  assert.equal(add.children[0]!.attrs.get(DW_AT.type), toy.dieOffsets.get('int'));
  const util = await (await dwarf.unit(toy.unitOffsets[1]!)).root();
  assert.equal(attrString(util, DW_AT.name), 'util.c'); // an inline DW_FORM_string
});

test('dieAt finds a DIE by absolute offset in either unit', async () => {
  const task = await dwarf.dieAt(toy.dieOffsets.get('task')!);
  assert.equal(task?.tag, DW_TAG.structure_type);
  assert.equal(attrNumber(task!, DW_AT.byte_size), 48);
  const utilInt = await dwarf.dieAt(toy.dieOffsets.get('util_int')!);
  assert.equal(utilInt?.offset, toy.dieOffsets.get('util_int'));
  assert.equal(attrString(utilInt!, DW_AT.name), 'int');
  assert.ok(toy.dieOffsets.get('util_int')! > toy.unitOffsets[1]!);
});

test('.debug_aranges: an address finds its unit, one past the end finds none', async () => {
  assert.equal((await dwarf.unitForAddress(ADD + 0x7fn))?.header.offset, toy.unitOffsets[0]);
  assert.equal((await dwarf.unitForAddress(UTIL_FN))?.header.offset, toy.unitOffsets[1]);
  assert.equal(await dwarf.unitForAddress(TEXT + 0x80n), undefined);
  assert.equal(await dwarf.unitForAddress(TEXT - 1n), undefined);
});

test('the DWARF 5 line program: file names joined with their directories, rows and one sequence', async () => {
  const table = (await dwarf.lineTable(await dwarf.unit(toy.unitOffsets[0]!)))!;
  assert.equal(table.version, 5);
  assert.deepEqual(table.files, ['/build/main.c', '/build/main.c', '/build/include/helper.h']);
  assert.deepEqual(table.rows.filter((r) => !r.endSequence).map((r) => [Number(r.address - TEXT), r.line, r.file]), [
    [0x00, 10, 1], [0x04, 11, 1], [0x10, 12, 1], [0x20, 14, 1], [0x40, 20, 1], [0x50, 5, 2], [0x58, 6, 2], [0x60, 22, 1], [0x70, 12, 1],
  ]);
  assert.equal(table.sequences.length, 1);
  assert.equal(table.sequences[0]!.end, TEXT + 0x80n);
  assert.equal(table.rows[findRow(table, ADD + 0x1fn)!]!.line, 12);
  assert.equal(findRow(table, TEXT + 0x80n), undefined);
});

test('the DWARF 4 line program: include directories and file entries', async () => {
  const root = await (await dwarf.unit(toy.unitOffsets[1]!)).rootOnly();
  const table = await readLineTable(new DwarfSections(elf), attrNumber(root, DW_AT.stmt_list)!);
  assert.equal(table.version, 4);
  assert.deepEqual(table.files, ['', '/build/lib/util.c']);
  assert.deepEqual(table.rows.map((r) => [Number(r.address - UTIL_FN), r.line, r.endSequence]), [[0, 3, false], [8, 4, false], [0x10, 7, false], [0x20, 7, true]]);
});

test('address to line: the row covering it, its range, the column, and the file relative to comp_dir', async () => {
  const l = await dwarf.lineFor(ADD + 0x12n);
  assert.deepEqual({ ...l, start: hex(l?.start), end: hex(l?.end) }, { file: '/build/main.c', shortFile: 'main.c', line: 12, column: 9, start: hex(ADD + 0x10n), end: hex(ADD + 0x20n) });
  assert.equal((await dwarf.lineFor(ADD + 0x20n))?.column, 0);
  assert.equal((await dwarf.lineFor(UTIL_FN + 0x1fn))?.shortFile, 'util.c');
  assert.equal(await dwarf.lineFor(ENTRY_ASM), undefined);
});

test('line to addresses: every range of main.c:12, in address order; a line with no code is an error', async () => {
  const r = await dwarf.infoLine('main.c:12');
  assert.equal(r.file, '/build/main.c');
  assert.deepEqual(r.ranges.map((x) => [hex(x.start), hex(x.end)]), [[hex(ADD + 0x10n), hex(ADD + 0x20n)], [hex(CALLER + 0x30n), hex(CALLER + 0x40n)]]);
  assert.deepEqual((await dwarf.infoLine('util.c:4')).ranges.map((x) => [hex(x.start), hex(x.end)]), [[hex(UTIL_FN + 8n), hex(UTIL_FN + 0x10n)]]);
  await assert.rejects(dwarf.infoLine('main.c:13'), (e: Error) => e instanceof NotFoundError && /no code for main\.c:13/.test(e.message));
  const byName = await dwarf.infoLine('util_fn');
  assert.deepEqual([byName.line, hex(byName.ranges[0]!.start)], [3, hex(UTIL_FN)]);
});

test('addr2line: inside an inlined call, the inlined function first at its own line, then the caller at the call site', async () => {
  const frames = await dwarf.addr2line(INLINED_HELPER + 4n);
  assert.deepEqual(frames.map((f) => [f.function, f.shortFile, f.line, f.inlined]), [
    ['helper', 'include/helper.h', 5, true],
    ['caller', 'main.c', 21, false],
  ]);
  // Past the inlined range, only the caller.
  assert.deepEqual((await dwarf.addr2line(CALLER + 0x20n)).map((f) => [f.function, f.line, f.inlined]), [['caller', 22, false]]);
});

test('addr2line without DWARF for the address names the ELF symbol only; outside every symbol, nothing', async () => {
  assert.deepEqual(await dwarf.addr2line(ENTRY_ASM + 4n), [{ function: 'entry_asm', inlined: false }]);
  assert.deepEqual(await dwarf.addr2line(TEXT - 0x10n), []);
});

/** A frame at ADD+0x14: rsi = 7, rax = 99, CFA at 0x9000 with `a` at CFA-20 = 5; rdi points at init_task. */
function frameAt(memory: Map<bigint, Buffer>): ExpressionContext {
  const regs: Record<number, bigint> = { 0: 99n, 4: 7n, 5: INIT_TASK, 1: 0x33n };
  return {
    readRegister: (n) => regs[n],
    readMemory: async (a, n) => {
      const b = memory.get(a);
      if (!b || b.length < n) throw new Error(`Cannot access memory at address 0x${a.toString(16)}`);
      return b.subarray(0, n);
    },
    cfa: 0x9000n,
  };
}

test('frame arguments and locals: a stack slot through the frame base, a register, a location-list entry', async () => {
  const a = Buffer.alloc(4);
  a.writeInt32LE(-5);
  const ctx = frameAt(new Map([[0x9000n - 20n, a]]));
  const [f] = await dwarf.addr2line(ADD + 0x14n, ctx);
  assert.deepEqual(f!.args, [{ name: 'a', type: 'int', value: '-5' }, { name: 'b', type: 'int', value: '7' }]);
  assert.deepEqual(f!.locals, [{ name: 'sum', type: 'int', value: '99' }, { name: 'tmp', type: 'long', value: '51' }]);
  // The second location-list entry is a constant; past the list the variable is optimized out.
  assert.equal((await dwarf.addr2line(ADD + 0x24n, ctx))[0]!.locals![0]!.value, '7');
  assert.equal((await dwarf.addr2line(ADD + 0x34n, ctx))[0]!.locals![0]!.value, '<optimized out>');
  // Without the CFA the stack slot cannot be found: unavailable, not a guess.
  assert.equal((await dwarf.addr2line(ADD + 0x14n, { ...ctx, cfa: undefined }))[0]!.args![0]!.value, '<unavailable>');
});

test('an inlined frame takes its parameter names from the abstract origin', async () => {
  const [inl, outer] = await dwarf.addr2line(INLINED_HELPER + 2n, frameAt(new Map()));
  assert.deepEqual(inl!.args, [{ name: 'v', type: 'int', value: '51' }]);
  assert.deepEqual(outer!.args, [{ name: 't', type: 'struct task *', value: `0x${INIT_TASK.toString(16)}` }]);
});

test('DWARF 4 .debug_loc: the entry covering the pc is the one applied', async () => {
  const x = Buffer.alloc(4);
  x.writeInt32LE(1234);
  const ctx: ExpressionContext = { readRegister: (n) => ({ 5: 77n, 7: 0x8000n } as Record<number, bigint>)[n], readMemory: async (a) => { if (a !== 0x8008n - 12n) throw new Error('bad read'); return x; } };
  assert.equal((await dwarf.addr2line(UTIL_FN + 2n, ctx))[0]!.args![0]!.value, '77');
  assert.equal((await dwarf.addr2line(UTIL_FN + 0x10n, ctx))[0]!.args![0]!.value, '1234');
});

test('a block in two pieces (.debug_rnglists): its variable is in scope in each piece, not in the gap or after', async () => {
  const names = async (pc: bigint) => (await dwarf.variablesAt(pc)).map((v) => v.name);
  assert.deepEqual(await names(ADD + 0x10n), ['tmp', 'sum', 'b', 'a']);
  assert.deepEqual(await names(ADD + 0x18n), ['sum', 'b', 'a']);
  assert.deepEqual(await names(ADD + 0x1bn), ['sum', 'b', 'a']);
  assert.deepEqual(await names(ADD + 0x1cn), ['tmp', 'sum', 'b', 'a']);
  assert.deepEqual(await names(ADD + 0x27n), ['tmp', 'sum', 'b', 'a']);
  assert.deepEqual(await names(ADD + 0x28n), ['sum', 'b', 'a']);
});

test('a block in two pieces (DWARF 4 .debug_ranges) with a constant: shown where it is in scope', async () => {
  const ctx: ExpressionContext = { readRegister: (n) => (n === 5 ? 1n : undefined), readMemory: async () => Buffer.alloc(4) };
  const locals = async (pc: bigint) => (await dwarf.addr2line(pc, ctx))[0]!.locals!.map((v) => `${v.name}=${v.value}`);
  assert.deepEqual(await locals(UTIL_FN + 0x04n), ['y=-7']);
  assert.deepEqual(await locals(UTIL_FN + 0x0cn), []);
  assert.deepEqual(await locals(UTIL_FN + 0x17n), ['y=-7']);
  assert.deepEqual(await locals(UTIL_FN + 0x18n), []);
  const y = (await dwarf.variablesAt(UTIL_FN + 0x05n)).find((v) => v.name === 'y');
  assert.equal(y?.constValue, -7);
});

test('variablesAt lists the innermost scope first with the function frame base', async () => {
  const vars = await dwarf.variablesAt(INLINED_HELPER + 1n);
  assert.deepEqual(vars.map((v) => [v.name, v.isParameter]), [['v', true], ['t', true]]);
  assert.deepEqual(vars[0]!.location, Buffer.from([0x51]));
  assert.deepEqual(vars[0]!.frameBase, Buffer.from([0x9c]));
  assert.deepEqual(await dwarf.variablesAt(ENTRY_ASM), []);
});

test('function look-up: the ELF address, and the breakpoint past a frame set-up unless GCC made location lists', async () => {
  const add = await dwarf.lookupFunction('add');
  assert.deepEqual([hex(add.address), hex(add.breakAddress), add.line], [hex(ADD), hex(ADD + 4n), 11]);
  // util.c is GCC 12 with a location list: gdb trusts its locations and breaks at the entry.
  const util = await dwarf.lookupFunction('util_fn');
  assert.deepEqual([hex(util.address), hex(util.breakAddress), util.file], [hex(UTIL_FN), hex(UTIL_FN), '/build/lib/util.c']);
  // No frame set-up (caller starts with nops): the entry itself.
  assert.equal(await dwarf.breakAddress(CALLER), CALLER);
  await assert.rejects(dwarf.lookupFunction('ad'), (e: Error) => e instanceof NotFoundError && /no function named 'ad'.*did you mean: add/.test(e.message));
});

test('variable look-up: address from DW_OP_addr and the type written as C', async () => {
  assert.deepEqual(await dwarf.lookupVariable('banner'), { name: 'banner', address: BANNER, type: 'const char *', perCpu: false });
  assert.deepEqual(await dwarf.lookupVariable('numbers'), { name: 'numbers', address: INIT_TASK + 0x50n, type: 'int [4]', perCpu: false });
  assert.deepEqual(await dwarf.globalVariable('util_count'), { typeOffset: toy.dieOffsets.get('util_int'), address: UTIL_COUNT });
  await assert.rejects(dwarf.lookupVariable('nope'), /no variable named 'nope'/);
});

test('type layout like ptype/o: offsets, sizes, bit-fields, nested struct names', async () => {
  const t = await dwarf.typeLayout('struct task');
  assert.equal(t.size, 48);
  assert.deepEqual(t.members.map((m) => [m.name, m.type, m.offset, m.size, m.bitSize, m.bitOffset]), [
    ['pid', 'int', 0, 4, undefined, undefined],
    ['comm', 'char [16]', 4, 16, undefined, undefined],
    ['pos', 'struct point', 20, 8, undefined, undefined],
    ['parent', 'struct task *', 32, 8, undefined, undefined],
    ['flags', 'unsigned int', 40, 4, 3, 0],
    ['state', 'unsigned int', 40, 4, 5, 3],
    ['c', 'enum color', 44, 4, undefined, undefined],
  ]);
  // A typedef resolves to the struct it names.
  assert.equal((await dwarf.typeLayout('task_t')).size, 48);
  await assert.rejects(dwarf.typeLayout('struct nothing'), (e: Error) => e instanceof NotFoundError);
});

test('the name index: types, functions and variables by name, kept apart by kind', async () => {
  const index = await DwarfNameIndex.build(new DwarfSections(elf), undefined, { workers: 1 });
  assert.deepEqual(index.lookup('task', 'type'), [toy.dieOffsets.get('task')]);
  assert.deepEqual(index.lookup('add', 'function'), [toy.dieOffsets.get('add')]);
  assert.deepEqual(index.lookup('add', 'variable'), []);
  assert.equal(index.lookup('int', 'type').length, 2); // one per unit
  assert.equal(index.lookup('util_count', 'variable').length, 1);
  assert.deepEqual(index.lookup('helper_v', 'variable'), []); // not a top-level name
  assert.deepEqual(index.unitOffsets, toy.unitOffsets);
});

test('the name index round-trips through its on-disk text', async () => {
  const index = await DwarfNameIndex.build(new DwarfSections(elf), undefined, { workers: 1 });
  const text = index.serialize('abc123');
  assert.match(text, /^kdive-dwarf-index \d+ abc123\nunits 0,\d+\n/);
  assert.match(text, new RegExp(`\\ntask\\t0:${toy.dieOffsets.get('task')}\\n`));
});

test('a unit with an unknown form is a one-line FormatError naming .debug_info and the offset', async () => {
  const w = new DwarfWriter().unit(5, { tag: DW_TAG.compile_unit, attrs: [[DW_AT.name, 0x08, 'x.c']] });
  const { sections } = w.sections();
  const info = Buffer.from(sections['.debug_info']!);
  // The abbreviation's form (DW_FORM_string, 0x08) becomes 0x7f, a form DWARF does not have.
  const abbrev = Buffer.from(sections['.debug_abbrev']!);
  abbrev[abbrev.indexOf(0x08, 3)] = 0x7f;
  const { elf: bad, path } = await openTinyElf(writeTinyElf([{ name: '.debug_info', data: info }, { name: '.debug_abbrev', data: abbrev }]), 'bad-form.o');
  try {
    const unit = await DwarfUnit.read(new DwarfSections(bad), 0);
    await assert.rejects(unit.root(), (e: Error) => {
      assert.ok(e instanceof FormatError);
      assert.equal(e.message, `${path}: at offset 0xd: .debug_info: unknown attribute form 0x7f`);
      return true;
    });
  } finally {
    await bad.close();
  }
});

test('location expressions written by the DWARF writer decode to the operations they name', () => {
  assert.deepEqual(expr(op.fbreg(-20)), Buffer.from([0x91, 0x6c]));
  assert.deepEqual(expr(op.breg(7, 8), op.deref()), Buffer.from([0x77, 0x08, 0x06]));
  assert.deepEqual(expr(op.constu(624485)), Buffer.from([0x10, 0xe5, 0x8e, 0x26])); // DWARF 5 §7.6's example
  assert.deepEqual(expr(op.consts(-123456)), Buffer.from([0x11, 0xc0, 0xbb, 0x78]));
});
