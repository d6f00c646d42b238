/**
 * Makes the seeds taken from the Debian 6.1 cloud vmlinux (run once by hand with its path:
 * `node --import tsx test/fuzz/seeds/make-vmlinux-seeds.ts VMLINUX`):
 *   dwarf-vmlinux-unit.elf  one small compile unit as the vmlinux has it (DWARF 5 from GCC 12),
 *                           with its abbreviation table, line program, .debug_frame entries and
 *                           .debug_aranges set, and its .debug_loclists/.debug_rnglists contributions
 *                           (their offsets moved to the copies), in a small ELF.
 *                           Its .debug_str/.debug_line_str hold only the unit's strings: the
 *                           strp/line_strp offsets are rewritten to them (the vmlinux's are 3.4 MB).
 *   orc-vmlinux-ip.bin, orc-vmlinux-entries.bin
 *                           256 consecutive ORC entries and their .orc_unwind_ip words, taken from
 *                           the middle of the tables; ORC_IP_ADDRESS below is where the ip slice was.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElfFile } from '../../../src/symbols/elf/index.js';
import { ByteCursor } from '../../../src/symbols/dwarf/byte-cursor.js';
import { DW_FORM } from '../../../src/symbols/dwarf/constants.js';
import { skipForm } from '../../../src/symbols/dwarf/form-sizes.js';
import { parseAbbrevTable } from '../../../src/symbols/dwarf/abbrev-table.js';
import { writeTinyElf } from '../../support/tiny-elf-writer.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const elf = await ElfFile.open(process.argv[2]!);
const info = await elf.readSection('.debug_info');
const abbrev = await elf.readSection('.debug_abbrev');
const line = await elf.readSection('.debug_line');
const str = await elf.readSection('.debug_str');
const lineStr = await elf.readSection('.debug_line_str');

/** A string table rebuilt from the strings a unit uses. */
class Strings {
  data: Buffer[] = [];
  size = 0;
  readonly at = new Map<number, number>();
  constructor(private readonly from: Buffer) {}
  move(old: number): number {
    let n = this.at.get(old);
    if (n === undefined) {
      const end = this.from.indexOf(0, old);
      const s = this.from.subarray(old, end + 1);
      n = this.size;
      this.data.push(Buffer.from(s));
      this.size += s.length;
      this.at.set(old, n);
    }
    return n;
  }
  bytes(): Buffer { return Buffer.concat(this.data); }
}

/** The root DIE's stmt_list, low_pc and high_pc (a length) of the unit at `o`. */
function rootOf(o: number): { stmtList?: number; low?: bigint; high?: bigint } {
  const t = parseAbbrevTable(abbrev, info.readUInt32LE(o + 8), 'vmlinux');
  const rc = new ByteCursor(info, o + 12, '.debug_info', 'vmlinux');
  const a = t.get(rc.uleb());
  const out: { stmtList?: number; low?: bigint; high?: bigint } = {};
  for (const attr of a?.attrs ?? []) {
    if (attr.at === 0x10) out.stmtList = info.readUInt32LE(rc.pos);
    if (attr.at === 0x11 && attr.form === DW_FORM.addr) out.low = info.readBigUInt64LE(rc.pos);
    if (attr.at === 0x12 && attr.form === DW_FORM.data8) out.high = info.readBigUInt64LE(rc.pos);
    skipForm(rc, attr.form, 8, 4, 5);
  }
  return out;
}

// The first DWARF 5 unit of 3-8 KiB with one code range and a line program of over 1.5 KiB.
let unitOffset = -1;
let range = { low: 0n, length: 0n };
for (let o = 0; o < info.length; ) {
  const len = info.readUInt32LE(o);
  if (len >= 3072 && len <= 8192 && info.readUInt16LE(o + 4) === 5) {
    const r = rootOf(o);
    if (r.stmtList !== undefined && r.low !== undefined && r.high !== undefined && line.readUInt32LE(r.stmtList) > 1536) {
      unitOffset = o;
      range = { low: r.low, length: r.high };
      break;
    }
  }
  o += 4 + len;
}
const unitLength = info.readUInt32LE(unitOffset);
const unit = Buffer.from(info.subarray(unitOffset, unitOffset + 4 + unitLength));
const abbrevOffset = unit.readUInt32LE(8);
unit.writeUInt32LE(0, 8);
const table = parseAbbrevTable(abbrev, abbrevOffset, 'vmlinux');
// The table's extent: walk it again to its terminating 0.
const ac = new ByteCursor(abbrev, 0, '.debug_abbrev', 'vmlinux');
ac.pos = abbrevOffset;
for (;;) {
  if (ac.uleb() === 0) break;
  ac.uleb(); ac.pos += 1;
  for (;;) { const a = ac.uleb(); const f = ac.uleb(); if (f === DW_FORM.implicit_const) ac.sleb(); if (a === 0 && f === 0) break; }
}
const abbrevBytes = Buffer.from(abbrev.subarray(abbrevOffset, ac.pos));

const strs = new Strings(str);
const lineStrs = new Strings(lineStr);
let stmtList = -1;
// DW_AT_location, DW_AT_frame_base, DW_AT_GNU_locviews: offsets into .debug_loclists.
const LOCLIST_ATTRS = new Set([0x02, 0x40, 0x2137]);
const locRefs: number[] = [];
const rangeRefs: number[] = [];
const c = new ByteCursor(unit, 0, '.debug_info', 'seed');
c.pos = 12;
while (c.pos < unit.length) {
  const code = c.uleb();
  if (code === 0) continue;
  const a = table.get(code)!;
  for (const attr of a.attrs) {
    if (attr.form === DW_FORM.strp) unit.writeUInt32LE(strs.move(unit.readUInt32LE(c.pos)), c.pos);
    if (attr.form === DW_FORM.line_strp) unit.writeUInt32LE(lineStrs.move(unit.readUInt32LE(c.pos)), c.pos);
    if (attr.at === 0x10 /* DW_AT_stmt_list */) { stmtList = unit.readUInt32LE(c.pos); unit.writeUInt32LE(0, c.pos); }
    if (attr.form === DW_FORM.sec_offset && LOCLIST_ATTRS.has(attr.at)) locRefs.push(c.pos);
    if (attr.form === DW_FORM.sec_offset && attr.at === 0x55 /* DW_AT_ranges */) rangeRefs.push(c.pos);
    skipForm(c, attr.form, 8, 4, 5);
  }
}
/**
 * The unit's contribution to a DWARF 5 list section (.debug_loclists/.debug_rnglists: a header,
 * then the lists), with the unit's references moved to the copy.
 */
async function contribution(name: string, refs: number[]): Promise<Buffer> {
  if (refs.length === 0) return Buffer.alloc(0);
  const sec = await elf.readSection(name);
  const first = Math.min(...refs.map((at) => unit.readUInt32LE(at)));
  for (let o = 0; o < sec.length; o += 4 + sec.readUInt32LE(o)) {
    const end = o + 4 + sec.readUInt32LE(o);
    if (first >= o && first < end) {
      for (const at of refs) unit.writeUInt32LE(unit.readUInt32LE(at) - o, at);
      return Buffer.from(sec.subarray(o, end));
    }
  }
  throw new Error(`no ${name} contribution holds 0x${first.toString(16)}`);
}
const loclists = await contribution('.debug_loclists', locRefs);
const rnglists = await contribution('.debug_rnglists', rangeRefs);

// Its line program, with the header's line_strp names moved the same way.
const program = Buffer.from(line.subarray(stmtList, stmtList + 4 + line.readUInt32LE(stmtList)));
const lc = new ByteCursor(program, 0, '.debug_line', 'seed');
lc.pos = 4 + 2 + 2 + 4 + 1 + 1 + 1 + 1 + 1;
const opcodeBase = program[lc.pos - 1]!;
lc.pos += opcodeBase - 1;
for (let table = 0; table < 2; table++) {
  const nFormats = program[lc.pos++]!;
  const formats: number[] = [];
  for (let i = 0; i < nFormats; i++) { lc.uleb(); formats.push(lc.uleb()); }
  const n = lc.uleb();
  for (let e = 0; e < n; e++) for (const f of formats) {
    if (f === DW_FORM.line_strp) program.writeUInt32LE(lineStrs.move(program.readUInt32LE(lc.pos)), lc.pos);
    if (f === DW_FORM.strp) program.writeUInt32LE(strs.move(program.readUInt32LE(lc.pos)), lc.pos);
    skipForm(lc, f, 8, 4, 5);
  }
}
// Its .debug_frame entries: the FDEs for its code, each after a copy of its CIE.
const frame = await elf.readSection('.debug_frame');
const frameParts: Buffer[] = [];
const cieAt = new Map<number, number>();
let frameSize = 0;
for (let o = 0; o + 4 <= frame.length; ) {
  const len = frame.readUInt32LE(o);
  const id = frame.readUInt32LE(o + 4);
  if (id !== 0xffffffff) {
    const start = frame.readBigUInt64LE(o + 8);
    if (start >= range.low && start < range.low + range.length) {
      if (!cieAt.has(id)) {
        cieAt.set(id, frameSize);
        const cie = frame.subarray(id, id + 4 + frame.readUInt32LE(id));
        frameParts.push(Buffer.from(cie));
        frameSize += cie.length;
      }
      const fde = Buffer.from(frame.subarray(o, o + 4 + len));
      fde.writeUInt32LE(cieAt.get(id)!, 4);
      frameParts.push(fde);
      frameSize += fde.length;
    }
  }
  o += 4 + len;
}
/** A .debug_aranges set for unit 0 with one range (the vmlinux's own set for it, rebuilt). */
function aranges(low: bigint, length: bigint): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt32LE(44, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt32LE(0, 6);
  b[10] = 8;
  b.writeBigUInt64LE(low, 16);
  b.writeBigUInt64LE(length, 24);
  return b;
}
writeFileSync(path.join(here, 'dwarf-vmlinux-unit.elf'), writeTinyElf([
  { name: '.debug_info', data: unit },
  { name: '.debug_abbrev', data: abbrevBytes },
  { name: '.debug_line', data: program },
  { name: '.debug_str', data: strs.bytes(), type: 1 },
  { name: '.debug_line_str', data: lineStrs.bytes(), type: 1 },
  { name: '.debug_frame', data: Buffer.concat(frameParts) },
  { name: '.debug_aranges', data: aranges(range.low, range.length) },
  { name: '.debug_loclists', data: loclists },
  { name: '.debug_rnglists', data: rnglists },
]));
console.log(`unit at 0x${unitOffset.toString(16)}: ${unit.length} bytes, abbrevs ${abbrevBytes.length}, line program ${program.length}, strings ${strs.size}+${lineStrs.size}, .debug_frame ${frameSize}, loclists ${loclists.length}, rnglists ${rnglists.length}, code 0x${range.low.toString(16)}+0x${range.length.toString(16)}`);

// ORC: 256 entries from the middle.
const ipSec = elf.section('.orc_unwind_ip')!;
const ips = await elf.readSection(ipSec);
const entries = await elf.readSection('.orc_unwind');
const k = Math.floor(ips.length / 4 / 2);
writeFileSync(path.join(here, 'orc-vmlinux-ip.bin'), ips.subarray(4 * k, 4 * (k + 256)));
writeFileSync(path.join(here, 'orc-vmlinux-entries.bin'), entries.subarray(6 * k, 6 * (k + 256)));
console.log(`ORC_IP_ADDRESS = 0x${(ipSec.addr + BigInt(4 * k)).toString(16)}n`);
