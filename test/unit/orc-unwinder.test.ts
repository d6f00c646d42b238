import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrcReg, OrcTable } from '../../src/symbols/orc/index.js';
import { PT_REGS, unwindFramePointers, unwindOrc, type UnwindResult } from '../../src/unwind/index.js';
import { writeOrcTables } from '../support/orc-writer.js';

const { UNDEFINED, PREV_SP, DX, BP, SP, SP_INDIRECT } = OrcReg;
const CALL = 0, REGS = 1, PARTIAL = 2;

interface Row { ip: number; sp: number; spOff?: number; bp?: number; bpOff?: number; type?: number; end?: 0 | 1 }

/** A hand-made v1 ORC table (the 6.1 layout), placed at a made-up ip-table address. */
function table(rows: Row[]): OrcTable {
  const tableAt = 0x100000n;
  const flags = (r: Row) => r.sp | ((r.bp ?? UNDEFINED) << 4) | ((r.type ?? CALL) << 8) | ((r.end ?? 0) << 10);
  const { ips, entries } = writeOrcTables(rows.map((r) => ({ ip: BigInt(r.ip), spOffset: r.spOff, bpOffset: r.bpOff, flags: flags(r) })), tableAt, 'v1');
  return OrcTable.fromBuffers(tableAt, ips, entries, 'v1');
}

/** Fake memory: 8-byte words by address; anything else is unreadable. */
class Memory {
  readonly words = new Map<bigint, bigint>();
  readonly reads: bigint[] = [];
  set(address: bigint, value: bigint): this {
    this.words.set(address, value);
    return this;
  }
  /** A pt_regs at `at` with the given fields (the rest zero). */
  ptRegs(at: bigint, fields: Partial<Record<keyof typeof PT_REGS, bigint>>): this {
    for (const [f, off] of Object.entries(PT_REGS)) this.set(at + BigInt(off), fields[f as keyof typeof PT_REGS] ?? 0n);
    return this;
  }
  readU64 = async (a: bigint): Promise<bigint> => {
    this.reads.push(a);
    const v = this.words.get(a);
    if (v === undefined) throw new Error(`unmapped 0x${a.toString(16)}`);
    return v;
  };
}

const frames = (r: UnwindResult) => r.frames.map((f) => [f.pc, f.sp, f.kind]);

// Code layout: f at 0x5000 (8-byte frame), g at 0x6000 (24-byte frame), an entry stub at 0x7000
// (ENTRY hint, then REGS once pt_regs is pushed), a gap at 0x8000, more code at 0x9000.
const orc = table([
  { ip: 0x5000, sp: SP, spOff: 8 },
  { ip: 0x6000, sp: SP, spOff: 24 },
  { ip: 0x7000, sp: UNDEFINED, end: 1 },
  { ip: 0x7050, sp: SP, spOff: 0, type: REGS },
  { ip: 0x8000, sp: UNDEFINED }, // weak terminator: an ORC gap
  { ip: 0x9000, sp: SP_INDIRECT, spOff: 16, bp: PREV_SP, bpOff: -16 }, // IRQ-stack switch
  { ip: 0x9100, sp: BP, spOff: 16, bp: PREV_SP, bpOff: -16 }, // frame-pointer style
  { ip: 0x9200, sp: DX, spOff: 8, type: PARTIAL }, // NMI-like: CFA from rdx
  { ip: 0x9300, sp: SP, spOff: 8, type: PARTIAL }, // iret frame at sp+8
  { ip: 0xa000, sp: UNDEFINED, end: 1 },
]);

test('CALL frames chain by CFA; a REGS frame whose cs is user mode ends the walk with the user state', async () => {
  const m = new Memory()
    .set(0xc000n, 0x6010n) // f's return address into g: CFA 0xc008
    .set(0xc018n, 0x7051n) // g's return address: just after the call in the entry stub
    .ptRegs(0xc020n, { rip: 0x401000n, rsp: 0x7ffd0000n, cs: 0x33n, ss: 0x2bn, orig_ax: 83n, rbp: 0x1234n });
  const r = await unwindOrc({ ip: 0x5000n, sp: 0xc000n, bp: 0n }, { orc, readU64: m.readU64 });
  assert.deepEqual(frames(r), [
    [0x5000n, 0xc000n, 'initial'],
    [0x6010n, 0xc008n, 'call'],
    [0x7051n, 0xc020n, 'call'],
  ]);
  assert.deepEqual(r.frames.map((f) => f.cfa), [undefined, 0xc008n, 0xc020n]);
  assert.ok(r.frames.every((f) => f.reliable));
  assert.deepEqual(r.end, { reason: 'user', user: { ip: 0x401000n, sp: 0x7ffd0000n, compat: false, origAx: 83n, syscall: 83n } });
});

test('a return address looks up ip-1: returning to the first byte after an end entry still ends there', async () => {
  // 0x7050 is where the REGS entry starts, but the call instruction is at 0x704f, under the end entry.
  const m = new Memory().set(0xc000n, 0x7050n).ptRegs(0xc008n, { rip: 0x401000n, rsp: 0x7ffd0000n, cs: 0x33n, ss: 0x2bn, orig_ax: 0n });
  const r = await unwindOrc({ ip: 0x5000n, sp: 0xc000n, bp: 0n }, { orc, readU64: m.readU64 });
  assert.deepEqual(frames(r), [[0x5000n, 0xc000n, 'initial'], [0x7050n, 0xc008n, 'call']]);
  // The end entry, with a user pt_regs right at sp (the bottom of a user task's stack): reported as user.
  assert.equal(r.end.reason, 'user');
  assert.equal(r.end.user?.syscall, 0n);
});

test('an interrupt from kernel mode: a REGS frame continues at the exact interrupted ip (no -1)', async () => {
  // Interrupted at 0x6000 exactly, the first byte of g: looking up ip-1 would wrongly use f's entry.
  const m = new Memory()
    .set(0xc000n, 0x7051n)
    .ptRegs(0xc008n, { rip: 0x6000n, rsp: 0xd000n, cs: 0x10n, ss: 0x18n, rbp: 0xbeefn })
    .set(0xd010n, 0xa001n); // g's frame is 24 bytes: CFA 0xd018, return address below it, into the end entry
  const r = await unwindOrc({ ip: 0x5000n, sp: 0xc000n, bp: 0n }, { orc, readU64: m.readU64 });
  assert.deepEqual(frames(r), [
    [0x5000n, 0xc000n, 'initial'],
    [0x7051n, 0xc008n, 'call'],
    [0x6000n, 0xd000n, 'regs'],
    [0xa001n, 0xd018n, 'call'],
  ]);
  assert.deepEqual(r.end, { reason: 'end-of-stack' });
});

test('REGS_PARTIAL (iret frame) and SP_INDIRECT (IRQ-stack switch) and BP-based frames', async () => {
  // 0x9300: iret frame at sp+8 (ip, cs, flags, sp, ss); kernel-mode cs, so the walk goes on at its ip/sp.
  const m = new Memory()
    .set(0xc008n, 0x9010n).set(0xc010n, 0x10n).set(0xc018n, 0x246n).set(0xc020n, 0xe000n).set(0xc028n, 0x18n)
    // 0x9010: SP_INDIRECT+16: the old sp is stored at *sp; CFA = *sp + 16; bp saved at CFA-16.
    .set(0xe000n, 0xf000n).set(0xf008n, 0x9110n).set(0xf000n, 0xf100n)
    // 0x9110: BP+16 with bp = 0xf100: CFA 0xf110, return address at 0xf108, caller's bp at 0xf100.
    .set(0xf108n, 0xa010n).set(0xf100n, 0n);
  const r = await unwindOrc({ ip: 0x9300n, sp: 0xc000n, bp: 0x5555n }, { orc, readU64: m.readU64 });
  assert.deepEqual(frames(r), [
    [0x9300n, 0xc000n, 'initial'],
    [0x9010n, 0xe000n, 'regs-partial'],
    [0x9110n, 0xf010n, 'call'],
    [0xa010n, 0xf110n, 'call'],
  ]);
  assert.deepEqual(r.end, { reason: 'end-of-stack' });
});

test('a DX-based CFA needs the live registers; without them the walk stops with an error', async () => {
  // The kernel ignores sp_offset for register bases: CFA = rdx, the iret frame (ip, cs, flags, sp) there.
  const m = new Memory().set(0xb000n, 0xa008n).set(0xb008n, 0x10n).set(0xb018n, 0x30000n);
  const withRegs = await unwindOrc(
    { ip: 0x9200n, sp: 0xc000n, bp: 0n, regs: { rdx: 0xb000n, cs: 0x10n } },
    { orc, readU64: m.readU64 },
  );
  assert.deepEqual(frames(withRegs), [[0x9200n, 0xc000n, 'initial'], [0xa008n, 0x30000n, 'regs-partial']]);
  assert.equal(withRegs.end.reason, 'end-of-stack');
  const without = await unwindOrc({ ip: 0x9200n, sp: 0xc000n, bp: 0n }, { orc, readU64: m.readU64 });
  assert.equal(without.end.reason, 'error');
  assert.match(without.end.detail!, /rdx/);
  const lacking = await unwindOrc({ ip: 0x9200n, sp: 0xc000n, bp: 0n, regs: { rax: 1n } }, { orc, readU64: m.readU64 });
  assert.match(lacking.end.detail!, /rdx, which the register set lacks/);
});

test('an unreadable stack ends the walk with an error and keeps the frames found so far', async () => {
  const m = new Memory().set(0xa008n, 0x5004n); // g: CFA = 0x9ff8 + 24
  const r = await unwindOrc({ ip: 0x6000n, sp: 0x9ff8n, bp: 0n }, { orc, readU64: m.readU64 });
  assert.deepEqual(r.frames.map((f) => f.pc), [0x6000n, 0x5004n]);
  assert.equal(r.end.reason, 'error');
  assert.match(r.end.detail!, /unmapped 0xa010/);
});

test('a stack pointer that does not move up is reported as a loop, not walked forever', async () => {
  const loopy = table([{ ip: 0x5000, sp: SP, spOff: 0 }]);
  const m = new Memory().set(0xbff8n, 0x5010n);
  const r = await unwindOrc({ ip: 0x5000n, sp: 0xc000n, bp: 0n }, { orc: loopy, readU64: m.readU64, maxFrames: 1000 });
  assert.equal(r.end.reason, 'error');
  assert.match(r.end.detail!, /wrong direction/);
  assert.ok(m.reads.length < 10, `${m.reads.length} reads`);
  // A self-referencing chain on a proper frame size also ends: sp keeps going up until memory runs out.
  const capped = await unwindOrc({ ip: 0x5000n, sp: 0xc000n, bp: 0n }, { orc: loopy, readU64: async () => 0x5010n, maxFrames: 5 });
  assert.equal(capped.end.reason, 'error');
});

test('maxFrames ends a long (valid) walk with reason limit', async () => {
  const m = new Memory();
  for (let i = 0n; i < 100n; i++) m.set(0xc000n + 8n * i, 0x5010n); // f calls f calls f ...
  const r = await unwindOrc({ ip: 0x5000n, sp: 0xc000n, bp: 0n }, { orc, readU64: m.readU64, maxFrames: 10 });
  assert.equal(r.frames.length, 10);
  assert.equal(r.end.reason, 'limit');
});

test('end entries stop cleanly; an ORC gap is an error; a KASLR slide shifts every lookup', async () => {
  const slide = 0x200000n;
  const atEnd = await unwindOrc({ ip: 0x7000n + slide, sp: 0xc000n, bp: 0n }, { orc, readU64: new Memory().readU64, slide });
  assert.deepEqual(atEnd.end, { reason: 'end-of-stack' });
  const m = new Memory().set(0xc000n, 0x6010n + slide).set(0xc018n, 0xa001n + slide);
  const slid = await unwindOrc({ ip: 0x5000n + slide, sp: 0xc000n, bp: 0n }, { orc, readU64: m.readU64, slide });
  assert.deepEqual(slid.frames.map((f) => f.pc), [0x5000n + slide, 0x6010n + slide, 0xa001n + slide]);
  assert.equal(slid.end.reason, 'end-of-stack');
  const gap = await unwindOrc({ ip: 0x8004n, sp: 0xc000n, bp: 0n }, { orc, readU64: new Memory().readU64 });
  assert.equal(gap.end.reason, 'error');
  assert.match(gap.end.detail!, /no ORC unwind information at 0x8004/);
});

test('code ORC does not cover falls back to the frame-pointer guess, marked unreliable from there on', async () => {
  // 0x1000 is below the table: BP+16, return address at bp+8, caller's bp at bp.
  const m = new Memory().set(0xc108n, 0x6010n).set(0xc100n, 0xc200n).set(0xc118n + 8n, 0xa001n);
  const r = await unwindOrc({ ip: 0x1000n, sp: 0xc000n, bp: 0xc100n }, { orc, readU64: m.readU64 });
  assert.deepEqual(r.frames.map((f) => [f.pc, f.reliable]), [[0x1000n, true], [0x6010n, false], [0xa001n, false]]);
});

test('a vCPU stopped in user mode has no kernel stack to walk', async () => {
  const r = await unwindOrc({ ip: 0x401000n, sp: 0x7ffd0000n, bp: 0n, regs: { cs: 0x33n } }, { orc, readU64: new Memory().readU64 });
  assert.equal(r.frames.length, 1);
  assert.equal(r.end.reason, 'user');
  assert.equal(r.end.user?.ip, 0x401000n);
});

test('frame-pointer unwinder: follows the rbp chain, checks bounds, alignment and loops', async () => {
  const m = new Memory()
    .set(0xc100n, 0xc200n).set(0xc108n, 0x6010n)
    .set(0xc200n, 0n).set(0xc208n, 0x7010n);
  const ok = await unwindFramePointers({ ip: 0x5000n, sp: 0xc000n, bp: 0xc100n }, { readU64: m.readU64 });
  assert.deepEqual(ok.frames.map((f) => [f.pc, f.sp, f.kind, f.reliable]), [
    [0x5000n, 0xc000n, 'initial', true],
    [0x6010n, 0xc110n, 'call', false],
    [0x7010n, 0xc210n, 'call', false],
  ]);
  assert.equal(ok.end.reason, 'end-of-stack');

  const loop = new Memory().set(0xc100n, 0xc100n).set(0xc108n, 0x6010n);
  const l = await unwindFramePointers({ ip: 0x5000n, sp: 0xc000n, bp: 0xc100n }, { readU64: loop.readU64 });
  assert.equal(l.end.reason, 'error');
  assert.match(l.end.detail!, /loop/);

  const wild = new Memory().set(0xc100n, 0xdead0000n).set(0xc108n, 0x6010n);
  const w = await unwindFramePointers({ ip: 0x5000n, sp: 0xc000n, bp: 0xc100n }, { readU64: wild.readU64, stack: { low: 0xc000n, high: 0xd000n } });
  assert.equal(w.frames.length, 2);
  assert.match(w.end.detail!, /outside the stack/);

  const odd = await unwindFramePointers({ ip: 0x5000n, sp: 0xc000n, bp: 0xc101n }, { readU64: m.readU64 });
  assert.match(odd.end.detail!, /aligned/);

  const unreadable = await unwindFramePointers({ ip: 0x5000n, sp: 0xc000n, bp: 0xc300n }, { readU64: m.readU64 });
  assert.equal(unreadable.end.reason, 'error');
  assert.equal(unreadable.frames.length, 1);
});
