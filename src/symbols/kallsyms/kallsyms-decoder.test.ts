import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError, KdiveError } from '../../errors.js';
import { decodeKallsyms } from './kallsyms-decoder.js';
import { slideTables, type KallsymsBytes, type KallsymsTables } from './kallsyms-tables.js';
import { writeKallsyms } from '../../../test/support/kallsyms-writer.js';
import { BIG_NAME, sampleKallsyms } from '../../../test/support/kallsyms-sample.js';

const RODATA = 0xffffffff82000000n;

/** Guest memory holding `.rodata` at `RODATA + slide`, relative_base slid as the kernel's relocation does at boot. */
function guestMemory(rodata: Buffer, tables: KallsymsTables, slide: bigint): KallsymsBytes {
  const memory = Buffer.from(rodata);
  const at = Number(tables.relativeBase - RODATA);
  memory.writeBigUInt64LE(memory.readBigUInt64LE(at) + slide, at);
  return {
    name: 'guest memory',
    async read(address, length) {
      const offset = Number(address - RODATA - slide);
      if (offset < 0 || offset + length > memory.length) throw new FormatError('guest memory', address, 'unmapped');
      return memory.subarray(offset, offset + length);
    },
  };
}

test('decodes from guest memory at slid addresses: code and data move by the KASLR slide, per-CPU offsets do not', async () => {
  const entries = sampleKallsyms();
  const { rodata, tables } = writeKallsyms(entries, { seqs: true });
  const slide = 0x2e400000n;
  const symbols = await decodeKallsyms(slideTables(tables, slide), guestMemory(rodata, tables, slide));
  assert.equal(symbols.length, entries.length);
  entries.forEach((e, i) => {
    assert.equal(symbols[i]!.name, e.name);
    assert.equal(symbols[i]!.type, e.type);
    assert.equal(symbols[i]!.address, e.perCpu ? e.address : e.address + slide, e.name);
    assert.equal(symbols[i]!.perCpu, e.perCpu ?? false);
  });
  assert.equal(symbols.find((s) => s.name === 'current_task')!.address, 0x1fb80n);
});

test('a name of more than 127 compressed bytes has the 2-byte "big symbol" length', async () => {
  const { rodata, tables } = writeKallsyms(sampleKallsyms());
  const names = Number(tables.names - RODATA);
  // The big symbol's length byte has its top bit set somewhere in the names table.
  let p = names;
  let sawBig = false;
  for (let i = 0; i < sampleKallsyms().length; i++) {
    let len = rodata[p++]!;
    if (len & 0x80) {
      len = (len & 0x7f) | (rodata[p++]! << 7);
      sawBig = true;
    }
    p += len;
  }
  assert.ok(sawBig);
  const symbols = await decodeKallsyms(tables, guestMemory(rodata, tables, 0n));
  assert.ok(symbols.some((s) => s.name === BIG_NAME && s.type === 't'));
});

async function assertFormatError(spoil: (memory: Buffer, tables: KallsymsTables) => KallsymsTables | void, pattern: RegExp): Promise<void> {
  const { rodata, tables } = writeKallsyms(sampleKallsyms(), { seqs: true });
  const copy = Buffer.from(rodata);
  const changed = spoil(copy, tables) ?? tables;
  await assert.rejects(decodeKallsyms(changed, guestMemory(copy, tables, 0n)), (e: Error) => {
    assert.ok(e instanceof KdiveError && !(e instanceof RangeError), String(e));
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('bad tables are one-line FormatErrors naming the table and address', async () => {
  const at = (a: bigint): number => Number(a - RODATA);
  await assertFormatError((m, t) => { m.writeUInt16LE(m.readUInt16LE(at(t.tokenIndex) + 20) + 1, at(t.tokenIndex) + 10); },
    /^guest memory: at offset 0xffffffff82[0-9a-f]+: kallsyms_token_index\[5\] is \d+, but token 5 starts at \d+$/);
  await assertFormatError((m, t) => { m.writeUInt32LE(1, at(t.markers)); }, /kallsyms marker 0 is 1, but symbol 0 starts at names offset 0$/);
  await assertFormatError((m, t) => { m.writeUInt32LE(m.readUInt32LE(at(t.numSyms)) + 1, at(t.numSyms)); }, /kallsyms_names ends after \d+ of \d+ symbols|kallsyms symbol \d+ has/);
  await assertFormatError((m, t) => ({ ...t, markers: t.names + 100n }), /kallsyms marker 0 is \d+, but symbol 0 starts at names offset 0$/);
  await assertFormatError((m, t) => { m.writeUInt32LE(0, at(t.numSyms)); }, /kallsyms_num_syms is 0: not kallsyms tables$/);
  await assertFormatError((m, t) => ({ ...t, names: t.markers + 8n }), /kallsyms_names would span -8 bytes/);
  // Text symbols out of order: the offsets of two code symbols swapped.
  await assertFormatError((m, t) => {
    const o = at(t.offsets) + 4 * 10;
    const a = m.readUInt32LE(o);
    m.writeUInt32LE(m.readUInt32LE(o + 4), o);
    m.writeUInt32LE(a, o + 4);
  }, /kallsyms text symbol func_\d+ at 0x[0-9a-f]+ is below the one before it: wrong offsets or relative_base$/);
});
