import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrcTable } from '../symbols/orc/index.js';
import { unwindOrc } from './orc-unwinder.js';
import { PT_REGS } from './pt-regs.js';

/** A hand-made ORC table: [ip, sp_reg, sp_offset, bp_reg, type(0 call,1 regs,2 partial), end]. */
function table(rows: [number, number, number, number, number, number][]): OrcTable {
  const base = 0x1000n;
  const ips = Buffer.alloc(rows.length * 4);
  const entries = Buffer.alloc(rows.length * 6);
  rows.forEach(([ip, spReg, spOff, bpReg, type, end], i) => {
    ips.writeInt32LE(ip - (0x1000 + 4 * i), 4 * i); // self-relative
    entries.writeInt16LE(spOff, i * 6);
    entries.writeInt16LE(0, i * 6 + 2);
    entries.writeUInt16LE(spReg | (bpReg << 4) | (type << 8) | (end << 10), i * 6 + 4);
  });
  return OrcTable.fromBuffers(base, ips, entries);
}

function memory(words: Record<string, bigint>): (a: bigint) => Promise<bigint> {
  return async (a) => {
    const v = words[a.toString(16)];
    if (v === undefined) throw new Error(`unmapped 0x${a.toString(16)}`);
    return v;
  };
}

const SP = 5, UNDEF = 0, CALL = 0, REGS = 1;

// Code layout: f at 0x5000 (frame: 8 bytes), g at 0x6000 (frame: 24 bytes), entry at 0x7000 (REGS at its return address).
const orc = table([
  [0x5000, SP, 8, UNDEF, CALL, 0],
  [0x6000, SP, 24, UNDEF, CALL, 0],
  [0x7000, UNDEF, 0, UNDEF, CALL, 1],
  [0x7050, SP, 0, UNDEF, REGS, 0],
  [0x8000, UNDEF, 0, UNDEF, CALL, 0], // an ORC gap: weak terminator
]);

test('call frames chain by CFA, and a user-mode pt_regs ends the walk with the user state', async () => {
  const words: Record<string, bigint> = {
    '9000': 0x6010n, // f's return address into g (sp 0x9000 -> CFA 0x9008)
    '9018': 0x7050n, // g's return address into entry (CFA 0x9008+24 = 0x9020)
  };
  // The syscall entry ends ORC (an end entry) with the user pt_regs right at the caller's sp.
  const ptRegs = 0x9020n;
  words[(ptRegs + BigInt(PT_REGS.ss)).toString(16)] = 0x2bn;
  words[(ptRegs + BigInt(PT_REGS.cs)).toString(16)] = 0x33n;
  words[(ptRegs + BigInt(PT_REGS.rip)).toString(16)] = 0x401000n;
  words[(ptRegs + BigInt(PT_REGS.rsp)).toString(16)] = 0x7ffd0000n;
  words[(ptRegs + BigInt(PT_REGS.orig_ax)).toString(16)] = 83n;
  words[(ptRegs + BigInt(PT_REGS.rbp)).toString(16)] = 0n;
  const r = await unwindOrc({ ip: 0x5000n, sp: 0x9000n, bp: 0n }, { orc, readU64: memory(words) });
  assert.deepEqual(r.frames.map((f) => [f.pc, f.sp, f.kind]), [
    [0x5000n, 0x9000n, 'initial'],
    [0x6010n, 0x9008n, 'call'],
    [0x7050n, 0x9020n, 'call'],
  ]);
  assert.deepEqual(r.end, { reason: 'user', user: { ip: 0x401000n, sp: 0x7ffd0000n, syscall: 83n } });
});

test('an unreadable stack ends the walk with an error and keeps the frames found so far', async () => {
  const r = await unwindOrc({ ip: 0x6000n, sp: 0xa000n, bp: 0n }, { orc, readU64: memory({ 'a010': 0x5004n }) });
  assert.deepEqual(r.frames.map((f) => f.pc), [0x6000n, 0x5004n]);
  assert.equal(r.end.reason, 'error');
  assert.match(r.end.detail!, /unmapped 0xa018/);
});

test('a stack pointer that does not move up is reported as a loop', async () => {
  // Frame size 0 would keep sp in place: a corrupt table or stack must not spin forever.
  const loopy = table([[0x5000, SP, 0, UNDEF, CALL, 0]]);
  const r = await unwindOrc({ ip: 0x5000n, sp: 0x9008n, bp: 0n }, { orc: loopy, readU64: memory({ '9000': 0x5010n }) });
  assert.equal(r.end.reason, 'error');
  assert.match(r.end.detail!, /did not move up/);
});

test('an end entry stops cleanly; an ORC gap is an error; a KASLR slide shifts lookups', async () => {
  const slide = 0x200000n;
  const atEnd = await unwindOrc({ ip: 0x7000n + slide, sp: 0x9000n, bp: 0n }, { orc, readU64: memory({}), slide });
  assert.equal(atEnd.end.reason, 'end-of-stack');
  const gap = await unwindOrc({ ip: 0x8004n, sp: 0x9000n, bp: 0n }, { orc, readU64: memory({}) });
  assert.equal(gap.end.reason, 'error');
  assert.match(gap.end.detail!, /no ORC unwind information at 0x8004/);
});
