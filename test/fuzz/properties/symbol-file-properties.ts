/**
 * Symbol files: ELF headers and sections, the symbol table, DWARF units and abbreviations, line
 * programs, location expressions and lists, CFI, ORC tables. The seeds are a compile unit of the
 * Debian vmlinux (test/fuzz/seeds/dwarf-vmlinux-unit.elf), its ORC entries, and the toy kernel
 * of the fast tests (DWARF 4 and 5 with .debug_loc, .debug_loclists and both range forms).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ElfFile, SymbolTable } from '../../../src/symbols/elf/index.js';
import { CallFrameInfo, DwarfInfo, unwindRegistersWithCfi, DwarfSections, DwarfUnit, evaluateLocation, readLineTable, type Die } from '../../../src/symbols/dwarf/index.js';
import { OrcTable } from '../../../src/symbols/orc/index.js';
import { unwindOrc } from '../../../src/unwind/orc-unwinder.js';
import { parsedOrRejectedAsync, property, parsedOrRejected, regressions, type FuzzProperty } from '../fuzz-property.js';
import { mutatedFrom } from '../mutation.js';
import { seed } from '../seeds/seeds.js';
import { ADD, CALLER, UTIL_FN, buildToyKernel } from '../../support/toy-kernel.js';
import { writeTinyElf, type TinySection } from '../../support/tiny-elf-writer.js';

/** Where the vmlinux unit's code is (pvclock.c), and where the ORC ip slice was. */
const VMLINUX_UNIT_CODE = 0xffffffff81073d50n;
const ORC_IP_ADDRESS = 0xffffffff82d11450n;

const VMLINUX_UNIT = seed('dwarf-vmlinux-unit.elf');
const TOY = buildToyKernel().bytes;

/** A seed file's sections, to mutate one section's bytes and write the file again around them. */
async function sectionsOf(bytes: Buffer): Promise<TinySection[]> {
  const elf = await ElfFile.fromBuffer('seed', bytes);
  const out: TinySection[] = [];
  for (const s of elf.sections.slice(1)) {
    if (s.name === '.shstrtab') continue;
    out.push({ name: s.name, data: await elf.readSection(s), type: s.type, addr: s.addr, flags: s.flags, link: s.link, entsize: BigInt(s.entsize) });
  }
  return out;
}
const SEED_FILES = [await sectionsOf(VMLINUX_UNIT), await sectionsOf(TOY)];

/**
 * A seed file with one or two of its sections mutated (their names matching `which`), written
 * again as a valid ELF: edits land in the DWARF, not in the ELF container around it.
 */
function mutatedSections(which: RegExp, maxEdits = 4): fc.Arbitrary<Buffer> {
  // Only the seed files that have such a section (the toy kernel has no .debug_frame).
  const files = SEED_FILES.filter((f) => f.some((s) => which.test(s.name)));
  return fc
    .record({ file: fc.nat({ max: files.length - 1 }), picks: fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 2 }) })
    .chain(({ file, picks }) => {
      const sections = files[file]!;
      const candidates = sections.map((s, i) => (which.test(s.name) ? i : -1)).filter((i) => i >= 0);
      const chosen = [...new Set(picks.map(([p]) => candidates[p % candidates.length]!))];
      return fc.tuple(...chosen.map((i) => mutatedFrom([sections[i]!.data], maxEdits))).map((datas) => {
        const copy = sections.map((s) => ({ ...s }));
        chosen.forEach((i, k) => (copy[i]!.data = datas[k]!));
        // .shstrtab was last in both seeds, so writeTinyElf keeps every section's index (and .symtab's link).
        return writeTinyElf(copy);
      });
    });
}
const ORC_IPS = seed('orc-vmlinux-ip.bin');
const ORC_ENTRIES = seed('orc-vmlinux-entries.bin');

/** A FormatError names the file and the offset; a lookup that finds nothing is a NotFoundError. */
const SAYS_OFFSET = /: at offset 0x[0-9a-f]+: |not found|no (function|symbol|type|variable)/;

const PCS = [VMLINUX_UNIT_CODE, VMLINUX_UNIT_CODE + 0x40n, VMLINUX_UNIT_CODE + 0xa5n, VMLINUX_UNIT_CODE + 0x1f0n, ADD + 4n, CALLER + 0x12n, UTIL_FN + 8n];

/** Every DIE of a tree, depth first, with a bound (a mutated tree can be wide). */
function* walk(die: Die, budget = { n: 20_000 }): Generator<Die> {
  if (budget.n-- <= 0) return;
  yield die;
  for (const c of die.children ?? []) yield* walk(c, budget);
}

/** Memory and registers for location expressions: fixed values, and a fault above 2^63. */
const exprContext = {
  readRegister: (regno: number) => (regno < 17 ? 0x1000n * BigInt(regno + 1) : undefined),
  readMemory: async (address: bigint, length: number) => {
    if (length > 64 || address >= 1n << 63n) throw new (await import('../../../src/target/target-error.js')).TargetError(`cannot read ${length} bytes at 0x${address.toString(16)}`);
    return Buffer.alloc(length, 0x11);
  },
  frameBase: async () => 0xffffc90000003f00n,
  cfa: 0xffffc90000003f10n,
  addressSize: 8,
};

export const symbolFileProperties: FuzzProperty[] = [
  property('ELF', 'any bytes: an ELF file whose sections read back, or a FormatError at an offset', fc.oneof({ weight: 4, arbitrary: mutatedFrom([VMLINUX_UNIT, TOY]) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) }), async (bytes) => {
    const elf = await parsedOrRejectedAsync(() => ElfFile.fromBuffer('fuzz.elf', bytes), SAYS_OFFSET);
    if (!elf) return;
    for (const s of elf.sections) {
      if (s.size < 1 << 20) await parsedOrRejectedAsync(() => elf.readSection(s), SAYS_OFFSET);
    }
    await parsedOrRejectedAsync(() => elf.buildId(), SAYS_OFFSET);
    const symbols = await parsedOrRejectedAsync(() => SymbolTable.fromElf(elf), SAYS_OFFSET);
    if (symbols) for (const pc of PCS) symbols.symbolize(pc);
  }),
  property('DWARF units and abbreviations', 'mutated units: every DIE reads, or a FormatError at an offset', mutatedSections(/^\.debug_(info|abbrev|str)$/), async (bytes) => {
    const elf = await parsedOrRejectedAsync(() => ElfFile.fromBuffer('fuzz.elf', bytes), SAYS_OFFSET);
    if (!elf || !elf.section('.debug_info')) return;
    const sections = new DwarfSections(elf);
    const size = sections.sectionSize('.debug_info');
    for (let offset = 0, n = 0; offset < size && n < 4; n++) {
      const unit = await parsedOrRejectedAsync(() => DwarfUnit.read(sections, offset), SAYS_OFFSET);
      if (!unit) return;
      const root = await parsedOrRejectedAsync(() => unit.root(), SAYS_OFFSET);
      if (root) for (const die of walk(root)) assert.equal(typeof die.tag, 'number');
      assert.ok(unit.header.end > offset, `unit at ${offset} ends at ${unit.header.end}`);
      offset = unit.header.end;
    }
  }),
  property('DWARF line programs', 'mutated line programs: rows with real line numbers and files, or a FormatError', mutatedSections(/^\.debug_line(_str)?$/), async (bytes) => {
    const elf = await parsedOrRejectedAsync(() => ElfFile.fromBuffer('fuzz.elf', bytes), SAYS_OFFSET);
    if (!elf || !elf.section('.debug_line')) return;
    const table = await parsedOrRejectedAsync(() => readLineTable(new DwarfSections(elf), 0), SAYS_OFFSET);
    if (table) for (const row of table.rows) assert.ok(Number.isInteger(row.line) && row.line >= 0 && Number.isInteger(row.file), JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v)));
  }),
  property('DWARF (whole reader)', 'mutated files: line, variables and frame rules at each pc, or a FormatError', mutatedSections(/^\.debug_/, 3), async (bytes) => {
    const elf = await parsedOrRejectedAsync(() => ElfFile.fromBuffer('fuzz.elf', bytes), SAYS_OFFSET);
    if (!elf) return;
    const dwarf = await parsedOrRejectedAsync(() => DwarfInfo.open(elf), SAYS_OFFSET);
    const cfi = await parsedOrRejectedAsync(() => CallFrameInfo.read(new DwarfSections(elf)), SAYS_OFFSET);
    for (const pc of PCS) {
      if (dwarf) {
        await parsedOrRejectedAsync(() => dwarf.lineFor(pc), SAYS_OFFSET);
        await parsedOrRejectedAsync(() => dwarf.variablesAt(pc), SAYS_OFFSET);
      }
      if (cfi) parsedOrRejected(() => cfi.rulesAt(pc), SAYS_OFFSET);
    }
  }),
  property('DWARF CFI (.debug_frame)', 'mutated CIEs and FDEs: rules at each pc and a step from any registers to 64-bit values, or a FormatError', fc.tuple(mutatedSections(/^\.debug_frame$/), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 17, maxLength: 17 })), async ([bytes, values]) => {
    const elf = await parsedOrRejectedAsync(() => ElfFile.fromBuffer('fuzz.elf', bytes), SAYS_OFFSET);
    const cfi = elf && (await parsedOrRejectedAsync(() => CallFrameInfo.read(new DwarfSections(elf)), SAYS_OFFSET));
    if (!cfi) return;
    const regs = new Map(values.map((v, i) => [i, v] as [number, bigint]));
    for (const pc of PCS) {
      const rules = parsedOrRejected(() => cfi.rulesAt(pc), SAYS_OFFSET);
      if (!rules) continue;
      const step = await unwindRegistersWithCfi(rules, regs, async (a) => a ^ 0x5555n);
      for (const [r, v] of step?.caller ?? []) assert.ok(v >= 0n && v < 1n << 64n, `register ${r} = 0x${v.toString(16)} is not a 64-bit value`);
    }
  }),
  property('DWARF location lists', 'mutated .debug_loclists/.debug_loc: the variables at each pc, or a FormatError', mutatedSections(/^\.debug_(loclists|loc|rnglists|ranges)$/), async (bytes) => {
    const elf = await parsedOrRejectedAsync(() => ElfFile.fromBuffer('fuzz.elf', bytes), SAYS_OFFSET);
    const dwarf = elf && (await parsedOrRejectedAsync(() => DwarfInfo.open(elf), SAYS_OFFSET));
    if (dwarf) for (const pc of PCS) await parsedOrRejectedAsync(() => dwarf.variablesAt(pc), SAYS_OFFSET);
  }),
  property('DWARF location expressions', 'any expression bytes: a location, or a FormatError/TargetError', fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), async (expr) => {
    const loc = await parsedOrRejectedAsync(() => evaluateLocation(expr, exprContext), /offset|DW_OP|cannot read|expression|stack/);
    if (loc) assert.equal(typeof loc.kind, 'string');
  }),
  property('ORC tables', 'mutated real entries: lookups give the rightmost entry at or below the address, or a FormatError', fc.tuple(mutatedFrom([ORC_IPS], 3), mutatedFrom([ORC_ENTRIES], 3), fc.array(fc.bigInt({ min: -0x1000n, max: 0x100000n }), { maxLength: 8 })), ([ips, entries, deltas]) => {
    const table = parsedOrRejected(() => OrcTable.fromBuffers(ORC_IP_ADDRESS, ips, entries, 'v1'), SAYS_OFFSET);
    if (!table) return;
    for (const d of deltas) {
      const address = table.base + d;
      const i = table.indexOf(address);
      if (i < 0) {
        assert.ok(d < 0n || table.length === 0);
        continue;
      }
      assert.ok(table.entryAt(i).ip <= address);
      if (i + 1 < table.length) assert.ok(table.entryAt(i + 1).ip > address);
    }
  }),
  property('ORC unwinder', 'real entries, mutated, from any registers over any stack: frames of 64-bit values and an end, never a throw', fc.tuple(mutatedFrom([ORC_ENTRIES], 3), fc.nat({ max: 255 }), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 3, maxLength: 3 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), async ([entries, at, [sp, bp, salt], stackWord]) => {
    if (entries.length !== ORC_ENTRIES.length) return;
    const table = OrcTable.fromBuffers(ORC_IP_ADDRESS, ORC_IPS, entries, 'v1');
    const ip = table.entryAt(at % table.length).ip + 1n;
    // A stack whose words are a function of their address: deterministic garbage, readable below 2^63.
    const readU64 = async (a: bigint) => {
      if (a >= 1n << 63n && a < (1n << 64n) - 0x100000n) throw new Error(`unreadable 0x${a.toString(16)}`);
      return BigInt.asUintN(64, (a * 0x9e3779b97f4a7c15n) ^ salt ^ stackWord);
    };
    const r = await unwindOrc({ ip, sp, bp }, { orc: table, readU64, maxFrames: 32 });
    assert.ok(['user', 'end-of-stack', 'error', 'limit'].includes(r.end.reason));
    for (const f of r.frames) assert.ok(f.pc >= 0n && f.pc < 1n << 64n && f.sp >= 0n && f.sp < 1n << 64n, `frame ${JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
  }),
];

// Inputs that broke these properties once (npm run fuzz, issue 23): lit1, constu 0xffffffff, shl.
regressions(symbolFileProperties, 'DWARF location expressions', [Buffer.from([0x31, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x24]), Buffer.from([0x31, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x26])]);
regressions(symbolFileProperties, 'ORC tables', [[ORC_IPS, ORC_ENTRIES.subarray(0, 5), [0n]]]);
