/**
 * What a kernel image carries when there is no debug package: BTF, the kallsyms tables in
 * `.rodata`, and the LZ4-compressed payload of a bzImage. The seeds are made by the tests'
 * writers (test/support/btf-writer.ts, kallsyms-writer.ts, bzimage-writer.ts).
 */
import fc from 'fast-check';
import { BtfFile } from '../../../src/symbols/btf/index.js';
import { BtfTypeBuilder } from '../../../src/expr/btf-type-builder.js';
import { strip, typeToString } from '../../../src/expr/c-types.js';
import { ElfFile } from '../../../src/symbols/elf/index.js';
import { readKallsyms } from '../../../src/symbols/kallsyms/index.js';
import { decodeLz4Legacy } from '../../../src/symbols/image/index.js';
import { parsedOrRejected, parsedOrRejectedAsync, property, type FuzzProperty } from '../fuzz-property.js';
import { mutatedFrom } from '../mutation.js';
import { BtfWriter } from '../../support/btf-writer.js';
import { writeKallsyms, writeKallsymsElf } from '../../support/kallsyms-writer.js';
import { sampleKallsyms } from '../../support/kallsyms-sample.js';
import { encodeLz4Legacy, withSizeWord } from '../../support/bzimage-writer.js';

/** A BTF blob with every kind the kernel's uses: bitfields, a forward declaration, enums, prototypes, per-CPU variables. */
function seedBtf(): Buffer {
  const w = new BtfWriter();
  const int = w.int('int', 4, { signed: true });
  const uint = w.int('unsigned int', 4);
  const char = w.int('char', 1, { signed: true, char: true });
  const fwd = w.fwd('node');
  const ptr = w.ptr(fwd);
  const st = w.enumOf('state', 4, [['A', 0], ['B', 1]]);
  w.struct('node', 40, [['next', ptr, 0], ['pid', w.typedef('pid_t', int), 64], ['low', uint, 96, 3], ['comm', w.array(char, 16), 128], ['st', st, 256]]);
  w.struct('', 8, [['u', uint, 0], ['i', int, 0]], true);
  const proto = w.funcProto(int, [['n', w.ptr(w.constOf(fwd))], ['', 0]]);
  w.func('walk', proto);
  const v = w.variable('current_node', ptr);
  w.dataSection('.data..percpu', 8, [[v, 0, 8]]);
  return w.bytes();
}

const SAMPLE_KALLSYMS = writeKallsyms(sampleKallsyms(), { seqs: true }).rodata;
const LZ4_DATA = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? i & 0xff : 0x41 + (i % 5))));
const LZ4_SEED = withSizeWord(encodeLz4Legacy(LZ4_DATA, 1024), LZ4_DATA.length);

/** Every type of a (possibly damaged) BTF built and printed, members included, as ptype would. */
async function buildEveryType(btf: BtfFile): Promise<void> {
  const builder = new BtfTypeBuilder(btf);
  for (let id = 1; id <= Math.min(btf.lastId, 200); id++) {
    const t = parsedOrRejected(() => builder.fromId(id));
    if (!t) continue;
    typeToString(t);
    const s = strip(t);
    if (s.kind === 'struct' || s.kind === 'union') {
      const members = await parsedOrRejectedAsync(() => s.members());
      for (const m of members ?? []) typeToString(m.type);
    }
  }
}

export function kernelImageProperties(): FuzzProperty[] {
  return [
    property('BTF', 'mutated BTF: every type built and printed, or a FormatError saying where', mutatedFrom([seedBtf()]), async (bytes) => {
      const btf = parsedOrRejected(() => BtfFile.parse(bytes, 'fuzz.btf'));
      if (!btf) return;
      parsedOrRejected(() => btf.lookup('struct node'));
      await buildEveryType(btf);
    }),
    property('kallsyms', 'mutated kallsyms tables in .rodata: symbols that decode consistently, or one line saying what was not found', mutatedFrom([SAMPLE_KALLSYMS]), async (rodata) => {
      const elf = await ElfFile.fromBuffer('fuzz-vmlinux', writeKallsymsElf(rodata));
      await parsedOrRejectedAsync(() => readKallsyms(elf), /rodata|table|offset|section|symbol|kallsyms/i);
    }),
    property('LZ4 legacy', 'mutated LZ4 legacy streams: bytes out, or a FormatError naming the block', mutatedFrom([LZ4_SEED]), (stream) => {
      parsedOrRejected(() => decodeLz4Legacy(stream, 'fuzz.lz4'));
    }),
    property('LZ4 legacy', 'streams of random blocks: never a RangeError', fc.uint8Array({ maxLength: 300 }), (raw) => {
      const stream = Buffer.concat([Buffer.from([0x02, 0x21, 0x4c, 0x18]), Buffer.from(raw)]);
      parsedOrRejected(() => decodeLz4Legacy(stream, 'fuzz.lz4'));
    }),
  ];
}
