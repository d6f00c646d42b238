/**
 * A toy "vmlinux" for the fast tests, built in memory: .text and .data at kernel addresses, a
 * symbol table, and DWARF for two compilation units.
 *
 * main.c (DWARF 5, comp_dir /build, producer not GCC):
 *   int, unsigned int, char, long, unsigned long, _Bool; enum color {RED, GREEN, BLUE};
 *   struct point {int x; int y;};  typedef struct task task_t;
 *   struct task {int pid; char comm[16]; struct point pos; struct task *parent;
 *                unsigned int flags:3; unsigned int state:5; enum color c;}   (48 bytes)
 *   globals init_task, counter, numbers[4], banner (const char *), current_color
 *   int add(int a, int b)            a at fbreg-20, b in rsi, sum through a location list,
 *                                    long tmp (rdx) in a block of two ranges (.debug_rnglists)
 *   static inline int helper(int v)  inlined into caller(struct task *t) at main.c:21
 * util.c (DWARF 4, comp_dir /build/lib, producer GCC 12): int util_fn(int x), x through .debug_loc,
 *   the constant y = -7 in a block of two ranges (.debug_ranges)
 * entry_asm: a symbol with no DWARF.
 */
import { DW_AT, DW_TAG } from '../../src/symbols/dwarf/constants.js';
import { DwarfWriter, expr, op, type Attr, type DieSpec } from './dwarf-writer.js';
import { writeTinyElfWithSymbols, type TinySymbol } from './tiny-elf-writer.js';

export const TEXT = 0xffffffff81000000n;
export const DATA = 0xffffffff82000000n;
export const ADD = TEXT;
export const CALLER = TEXT + 0x40n;
export const INLINED_HELPER = TEXT + 0x50n;
export const UTIL_FN = TEXT + 0x1000n;
export const ENTRY_ASM = TEXT + 0x1080n;
export const INIT_TASK = DATA;
export const COUNTER = DATA + 0x40n;
export const NUMBERS = DATA + 0x50n;
export const BANNER = DATA + 0x60n;
export const CURRENT_COLOR = DATA + 0x68n;
export const UTIL_COUNT = DATA + 0x80n;
/** Where `banner` points, and what is there. */
export const BANNER_TEXT_AT = DATA + 0x100n;

const F = { addr: 0x01, data1: 0x0b, data2: 0x05, data8: 0x07, sdata: 0x0d, string: 0x08, strp: 0x0e, ref4: 0x13, sec_offset: 0x17, exprloc: 0x18, flag_present: 0x19, line_strp: 0x1f } as const;
const T = DW_TAG;
const A = DW_AT;

const name = (n: string): Attr => [A.name, F.strp, n];
const type = (id: string): Attr => [A.type, F.ref4, { ref: id }];
const base = (id: string, n: string, size: number, encoding: number): DieSpec => ({ tag: T.base_type, id, attrs: [name(n), [A.byte_size, F.data1, size], [A.encoding, F.data1, encoding]] });
const member = (n: string, t: string, offset: number): DieSpec => ({ tag: T.member, attrs: [name(n), type(t), [A.data_member_location, F.data1, offset]] });
const bitField = (n: string, t: string, bits: number, bitOffset: number): DieSpec => ({ tag: T.member, attrs: [name(n), type(t), [A.bit_size, F.data1, bits], [A.data_bit_offset, F.data2, bitOffset]] });
const global = (n: string, t: string, at: bigint): DieSpec => ({ tag: T.variable, attrs: [name(n), type(t), [A.external, F.flag_present, true], [A.location, F.exprloc, expr(op.addr(at))]] });
const code = (low: bigint, length: number): Attr[] => [[A.low_pc, F.addr, low], [A.high_pc, F.data8, BigInt(length)]];

export interface ToyKernel {
  /** The ELF file's bytes. */
  bytes: Buffer;
  /** .debug_info offsets of the two units, and of the labelled DIEs. */
  unitOffsets: number[];
  dieOffsets: Map<string, number>;
  /** The DWARF sections alone (for tests that take them apart). */
  dwarf: Record<string, Buffer>;
}

export function buildToyKernel(): ToyKernel {
  const w = new DwarfWriter();
  const mainLines = w.lineProgram({
    version: 5,
    dirs: ['/build', 'include'],
    files: [{ name: 'main.c', dir: 0 }, { name: 'main.c', dir: 0 }, { name: 'helper.h', dir: 1 }],
    lineStrp: true,
    sequences: [{
      rows: [
        { address: ADD, line: 10 },
        { address: ADD + 0x04n, line: 11 },
        { address: ADD + 0x10n, line: 12, column: 9 },
        { address: ADD + 0x20n, line: 14 },
        { address: CALLER, line: 20 },
        { address: INLINED_HELPER, line: 5, file: 2 },
        { address: INLINED_HELPER + 0x08n, line: 6, file: 2 },
        { address: CALLER + 0x20n, line: 22 },
        { address: CALLER + 0x30n, line: 12 }, // more code of line 12 (after an inlined copy)
      ],
      end: CALLER + 0x40n,
    }],
  });
  // A block of `add` in two pieces (after the inlined-looking split at 0x18..0x1c), holding `tmp`.
  const blockRanges = w.rangeList5(ADD, [{ start: ADD + 0x10n, end: ADD + 0x18n }, { start: ADD + 0x1cn, end: ADD + 0x28n }]);
  const sumList = w.locList5([
    { start: ADD + 0x10n, end: ADD + 0x20n, expr: expr(op.reg(0)) },
    { start: ADD + 0x20n, end: ADD + 0x30n, expr: expr(op.lit(7), op.stackValue()) },
  ]);
  const main: DieSpec = {
    tag: T.compile_unit,
    attrs: [[A.producer, F.strp, 'kdive test writer'], [A.language, F.data1, 0x1d], [A.name, F.line_strp, 'main.c'], [A.comp_dir, F.line_strp, '/build'], ...code(TEXT, 0x80), [A.stmt_list, F.sec_offset, mainLines]],
    children: [
      base('int', 'int', 4, 0x05),
      base('uint', 'unsigned int', 4, 0x08),
      base('char', 'char', 1, 0x06),
      base('long', 'long int', 8, 0x05),
      base('ulong', 'long unsigned int', 8, 0x07),
      base('bool', '_Bool', 1, 0x02),
      {
        tag: T.enumeration_type, id: 'color', attrs: [name('color'), [A.byte_size, F.data1, 4], type('uint')],
        children: [['RED', 0], ['GREEN', 1], ['BLUE', 2]].map(([n, v]) => ({ tag: T.enumerator, attrs: [name(n as string), [A.const_value, F.data1, v as number]] })),
      },
      { tag: T.structure_type, id: 'point', attrs: [name('point'), [A.byte_size, F.data1, 8]], children: [member('x', 'int', 0), member('y', 'int', 4)] },
      { tag: T.array_type, id: 'comm', attrs: [type('char')], children: [{ tag: T.subrange_type, attrs: [type('ulong'), [A.upper_bound, F.data1, 15]] }] },
      { tag: T.array_type, id: 'int4', attrs: [type('int')], children: [{ tag: T.subrange_type, attrs: [type('ulong'), [A.count, F.data1, 4]] }] },
      {
        tag: T.structure_type, id: 'task', attrs: [name('task'), [A.byte_size, F.data1, 48]],
        children: [
          member('pid', 'int', 0), member('comm', 'comm', 4), member('pos', 'point', 20), member('parent', 'task_ptr', 32),
          bitField('flags', 'uint', 3, 320), bitField('state', 'uint', 5, 323), member('c', 'color', 44),
        ],
      },
      { tag: T.pointer_type, id: 'task_ptr', attrs: [[A.byte_size, F.data1, 8], type('task')] },
      { tag: T.typedef, id: 'task_t', attrs: [name('task_t'), type('task')] },
      { tag: T.const_type, id: 'const_char', attrs: [type('char')] },
      { tag: T.pointer_type, id: 'const_char_ptr', attrs: [[A.byte_size, F.data1, 8], type('const_char')] },
      global('init_task', 'task', INIT_TASK),
      global('counter', 'int', COUNTER),
      global('numbers', 'int4', NUMBERS),
      global('banner', 'const_char_ptr', BANNER),
      global('current_color', 'color', CURRENT_COLOR),
      {
        tag: T.subprogram, id: 'add', attrs: [name('add'), [A.external, F.flag_present, true], [A.prototyped, F.flag_present, true], type('int'), ...code(ADD, 0x40), [A.frame_base, F.exprloc, expr(op.callFrameCfa())]],
        children: [
          { tag: T.formal_parameter, attrs: [name('a'), type('int'), [A.location, F.exprloc, expr(op.fbreg(-20))]] },
          { tag: T.formal_parameter, attrs: [name('b'), type('int'), [A.location, F.exprloc, expr(op.reg(4))]] },
          { tag: T.variable, attrs: [name('sum'), type('int'), [A.location, F.sec_offset, { loclist: sumList }]] },
          {
            tag: T.lexical_block, attrs: [[A.ranges, F.sec_offset, blockRanges]],
            children: [{ tag: T.variable, attrs: [name('tmp'), type('long'), [A.location, F.exprloc, expr(op.reg(1))]] }],
          },
        ],
      },
      {
        tag: T.subprogram, id: 'helper', attrs: [name('helper'), [A.inline, F.data1, 3], [A.prototyped, F.flag_present, true], type('int')],
        children: [{ tag: T.formal_parameter, id: 'helper_v', attrs: [name('v'), type('int')] }],
      },
      {
        tag: T.subprogram, attrs: [name('caller'), [A.external, F.flag_present, true], ...code(CALLER, 0x40), [A.frame_base, F.exprloc, expr(op.callFrameCfa())]],
        children: [
          { tag: T.formal_parameter, attrs: [name('t'), type('task_ptr'), [A.location, F.exprloc, expr(op.reg(5))]] },
          {
            tag: T.inlined_subroutine, attrs: [[A.abstract_origin, F.ref4, { ref: 'helper' }], ...code(INLINED_HELPER, 0x10), [A.call_file, F.data1, 1], [A.call_line, F.data1, 21]],
            children: [{ tag: T.formal_parameter, attrs: [[A.abstract_origin, F.ref4, { ref: 'helper_v' }], [A.location, F.exprloc, expr(op.reg(1))]] }],
          },
        ],
      },
    ],
  };
  w.unit(5, main, [{ start: TEXT, end: TEXT + 0x80n }]);

  const utilLines = w.lineProgram({
    version: 4,
    dirs: ['/build/lib'],
    files: [{ name: 'util.c', dir: 1 }],
    sequences: [{ rows: [{ address: UTIL_FN, line: 3 }, { address: UTIL_FN + 0x08n, line: 4 }, { address: UTIL_FN + 0x10n, line: 7 }], end: UTIL_FN + 0x20n }],
  });
  const xList = w.locList4([
    { start: UTIL_FN, end: UTIL_FN + 0x08n, expr: expr(op.reg(5)) },
    { start: UTIL_FN + 0x08n, end: UTIL_FN + 0x20n, expr: expr(op.fbreg(-12)) },
  ], UTIL_FN);
  const utilBlock = w.rangeList4(UTIL_FN, [{ start: UTIL_FN + 0x04n, end: UTIL_FN + 0x0cn }, { start: UTIL_FN + 0x14n, end: UTIL_FN + 0x18n }]);
  const util: DieSpec = {
    tag: T.compile_unit,
    attrs: [[A.producer, F.strp, 'GNU C11 12.2.0 -O2'], [A.name, F.string, 'util.c'], [A.comp_dir, F.string, '/build/lib'], ...code(UTIL_FN, 0x20), [A.stmt_list, F.sec_offset, utilLines]],
    children: [
      base('util_int', 'int', 4, 0x05),
      global('util_count', 'util_int', UTIL_COUNT),
      {
        tag: T.subprogram, attrs: [name('util_fn'), [A.external, F.flag_present, true], type('util_int'), ...code(UTIL_FN, 0x20), [A.frame_base, F.exprloc, expr(op.breg(7, 8))]],
        children: [
          { tag: T.formal_parameter, attrs: [name('x'), type('util_int'), [A.location, F.sec_offset, xList]] },
          { tag: T.lexical_block, attrs: [[A.ranges, F.sec_offset, utilBlock]], children: [{ tag: T.variable, attrs: [name('y'), type('util_int'), [A.const_value, F.sdata, -7]] }] },
        ],
      },
    ],
  };
  w.unit(4, util, [{ start: UTIL_FN, end: UTIL_FN + 0x20n }]);
  const { sections, unitOffsets, dieOffsets } = w.sections();

  // Code: a frame set-up (push %rbp; mov %rsp,%rbp) at add and util_fn, nops elsewhere.
  const text = Buffer.alloc(0x1100, 0x90);
  Buffer.from('554889e5', 'hex').copy(text, 0);
  Buffer.from('554889e5', 'hex').copy(text, 0x1000);
  const data = Buffer.alloc(0x200);
  const TEXT_INDEX = 1, DATA_INDEX = 2;
  const func = (n: string, address: bigint, size: number): TinySymbol => ({ name: n, address, size, type: 2, section: TEXT_INDEX });
  const object = (n: string, address: bigint, size: number): TinySymbol => ({ name: n, address, size, type: 1, section: DATA_INDEX });
  const bytes = writeTinyElfWithSymbols(
    [
      { name: '.text', data: text, addr: TEXT, flags: 6n },
      { name: '.data', data, addr: DATA, flags: 3n },
      ...Object.entries(sections).map(([n, d]) => ({ name: n, data: d })),
    ],
    [
      func('add', ADD, 0x40), func('caller', CALLER, 0x40), func('util_fn', UTIL_FN, 0x20), func('entry_asm', ENTRY_ASM, 0x10),
      object('init_task', INIT_TASK, 48), object('counter', COUNTER, 4), object('numbers', NUMBERS, 16), object('banner', BANNER, 8),
      object('current_color', CURRENT_COLOR, 4), object('util_count', UTIL_COUNT, 4),
    ],
  );
  return { bytes, unitOffsets, dieOffsets, dwarf: sections };
}

/** Sparse little-endian memory for the toy kernel: unreadable outside what was written. */
export class ToyMemory {
  private readonly pages = new Map<bigint, Buffer>();
  readonly reads: { address: bigint; length: number }[] = [];

  /** The written pages as memory regions (for a fake stub's memory). */
  regions(): { address: bigint; bytes: Buffer }[] {
    return [...this.pages].map(([address, bytes]) => ({ address, bytes: Buffer.from(bytes) }));
  }

  write(address: bigint, bytes: Buffer): this {
    for (let i = 0; i < bytes.length; i++) {
      const a = address + BigInt(i);
      const page = a & ~0xfffn;
      let p = this.pages.get(page);
      if (!p) this.pages.set(page, (p = Buffer.alloc(0x1000)));
      p[Number(a - page)] = bytes[i]!;
      this.written.add(a);
    }
    return this;
  }

  private readonly written = new Set<bigint>();

  u64(address: bigint, value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, value));
    return this.write(address, b);
  }

  u32(address: bigint, value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    return this.write(address, b);
  }

  read = async (address: bigint, length: number): Promise<Buffer> => {
    this.reads.push({ address, length });
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      const a = address + BigInt(i);
      if (!this.written.has(a)) throw new Error(`Cannot access memory at address 0x${a.toString(16)}`);
      out[i] = this.pages.get(a & ~0xfffn)![Number(a & 0xfffn)]!;
    }
    return out;
  };
}

/**
 * The toy kernel's data as a running kernel would hold it: init_task {pid 1, "swapper/0",
 * pos {3, -4}, parent = &init_task, flags 5, state 17, c BLUE}, counter 42, numbers {10, 20, 30, 40},
 * banner -> "Linux version 6.1-toy", current_color GREEN, util_count -1; all `slide` bytes higher (KASLR).
 */
export function toyKernelMemory(slide = 0n): ToyMemory {
  const m = new ToyMemory();
  const task = Buffer.alloc(48);
  task.writeInt32LE(1, 0);
  task.write('swapper/0', 4, 'latin1');
  task.writeInt32LE(3, 20);
  task.writeInt32LE(-4, 24);
  task.writeBigUInt64LE(INIT_TASK + slide, 32);
  task[40] = 5 | (17 << 3); // flags:3 = 5, state:5 = 17 (bits 3..7)
  task.writeUInt32LE(2, 44);
  m.write(INIT_TASK + slide, task);
  m.u32(COUNTER + slide, 42);
  [10, 20, 30, 40].forEach((v, i) => m.u32(NUMBERS + slide + BigInt(4 * i), v));
  m.u64(BANNER + slide, BANNER_TEXT_AT + slide);
  const text = Buffer.alloc(0x100);
  text.write('Linux version 6.1-toy', 'latin1');
  m.write(BANNER_TEXT_AT + slide, text);
  m.u32(CURRENT_COLOR + slide, 1);
  m.u32(UTIL_COUNT + slide, 0xffffffff);
  return m;
}
