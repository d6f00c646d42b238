import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateLocation, type ExpressionContext } from '../../src/symbols/dwarf/index.js';
import { expr, op } from '../support/dwarf-writer.js';

/** Registers by DWARF number (x86-64: 0 rax, 4 rsi, 5 rdi, 6 rbp, 7 rsp); 8-byte words by address. */
function ctx(regs: Record<number, bigint> = {}, words: Record<string, bigint> = {}, extra: Partial<ExpressionContext> = {}): ExpressionContext & { reads: bigint[] } {
  const reads: bigint[] = [];
  return {
    reads,
    readRegister: (n) => regs[n],
    readMemory: async (a, n) => {
      reads.push(a);
      const w = words[`0x${a.toString(16)}`];
      if (w === undefined) throw new Error(`Cannot access memory at address 0x${a.toString(16)}`);
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(w);
      return b.subarray(0, n);
    },
    ...extra,
  };
}

const run = (ops: number[][], c: ExpressionContext = ctx()) => evaluateLocation(expr(...ops), c);

test('an empty expression is optimized out', async () => {
  assert.deepEqual(await evaluateLocation(Buffer.alloc(0), ctx()), { kind: 'optimized-out' });
});

test('DW_OP_addr is a memory location at that address', async () => {
  assert.deepEqual(await run([op.addr(0xffffffff82001234n)]), { kind: 'memory', address: 0xffffffff82001234n });
});

test('DW_OP_reg0..31 and DW_OP_regx name a register, not its value', async () => {
  assert.deepEqual(await run([op.reg(5)]), { kind: 'register', regno: 5 });
  assert.deepEqual(await run([op.reg(31)]), { kind: 'register', regno: 31 });
  assert.deepEqual(await run([op.regx(49)]), { kind: 'register', regno: 49 });
});

test('DW_OP_breg adds a signed offset to the register value; bregx takes the register as ULEB', async () => {
  assert.deepEqual(await run([op.breg(7, -16)], ctx({ 7: 0x1000n })), { kind: 'memory', address: 0xff0n });
  assert.deepEqual(await run([op.bregx(6, 300)], ctx({ 6: 0x1000n })), { kind: 'memory', address: 0x1000n + 300n });
});

test('DW_OP_fbreg is relative to the frame base, which may be DW_OP_call_frame_cfa', async () => {
  const c = ctx({}, {}, { cfa: 0x2000n });
  const frameBase = async () => {
    const fb = await evaluateLocation(expr(op.callFrameCfa()), c);
    return fb.kind === 'memory' ? fb.address : undefined;
  };
  assert.deepEqual(await run([op.fbreg(-20)], { ...c, frameBase }), { kind: 'memory', address: 0x2000n - 20n });
  assert.deepEqual(await run([op.fbreg(-20)], ctx()), { kind: 'unavailable', reason: 'the frame base is not known' });
});

test('arithmetic on the stack: plus, minus, mul, and, or, xor, shifts, neg, not wrap at 64 bits', async () => {
  const value = async (...ops: number[][]) => {
    const l = await run([...ops, op.stackValue()]);
    assert.equal(l.kind, 'value');
    return (l as { value: bigint }).value;
  };
  assert.equal(await value(op.lit(7), op.lit(5), op.minus()), 2n);
  assert.equal(await value(op.lit(5), op.lit(7), op.minus()), (1n << 64n) - 2n);
  assert.equal(await value(op.constu(1000), op.lit(3), op.mul()), 3000n);
  assert.equal(await value(op.const1u(0xf0), op.const1u(0x3c), op.and()), 0x30n);
  assert.equal(await value(op.const1u(0xf0), op.const1u(0x0f), op.or()), 0xffn);
  assert.equal(await value(op.const1u(0xff), op.const1u(0x0f), op.xor()), 0xf0n);
  assert.equal(await value(op.lit(1), op.const1u(63), op.shl()), 1n << 63n);
  assert.equal(await value(op.consts(-16), op.lit(2), op.shra()), (1n << 64n) - 4n);
  assert.equal(await value(op.consts(-16), op.const1u(60), op.shr()), 0xfn);
  assert.equal(await value(op.lit(1), op.neg()), (1n << 64n) - 1n);
  assert.equal(await value(op.lit(0), op.not()), (1n << 64n) - 1n);
  assert.equal(await value(op.lit(9), op.plusUconst(300)), 309n);
  assert.equal(await value(op.const1s(-1)), (1n << 64n) - 1n);
  assert.equal(await value(op.const2u(0xbeef)), 0xbeefn);
  assert.equal(await value(op.const4u(0xdeadbeef)), 0xdeadbeefn);
  assert.equal(await value(op.const8u(0x0123456789abcdefn)), 0x0123456789abcdefn);
});

test('stack manipulation: dup, drop, over, swap', async () => {
  assert.deepEqual(await run([op.lit(3), op.dup(), op.plus(), op.stackValue()]), { kind: 'value', value: 6n });
  assert.deepEqual(await run([op.lit(3), op.lit(4), op.drop(), op.stackValue()]), { kind: 'value', value: 3n });
  assert.deepEqual(await run([op.lit(10), op.lit(4), op.over(), op.minus(), op.stackValue()]), { kind: 'value', value: (1n << 64n) - 6n });
  assert.deepEqual(await run([op.lit(10), op.lit(4), op.swap(), op.minus(), op.stackValue()]), { kind: 'value', value: (1n << 64n) - 6n });
});

test('DW_OP_deref reads 8 bytes at the popped address (a pointer chain)', async () => {
  const c = ctx({ 5: 0x3000n }, { '0x3008': 0x4000n, '0x4010': 0x55n });
  assert.deepEqual(await run([op.breg(5, 8), op.deref(), op.plusUconst(0x10)], c), { kind: 'memory', address: 0x4010n });
  assert.deepEqual(c.reads, [0x3008n]);
  assert.deepEqual(await run([op.breg(5, 8), op.deref(), op.plusUconst(0x10), op.deref(), op.stackValue()], c), { kind: 'value', value: 0x55n });
});

test('pieces: a value split over registers and memory', async () => {
  const l = await run([op.reg(0), op.piece(4), op.breg(7, 8), op.piece(4)], ctx({ 7: 0x100n }));
  assert.deepEqual(l, { kind: 'pieces', pieces: [{ location: { kind: 'register', regno: 0 }, size: 4 }, { location: { kind: 'memory', address: 0x108n }, size: 4 }] });
  // A piece with nothing before it is optimized out.
  assert.deepEqual(await run([op.piece(8), op.reg(1), op.piece(8)]), { kind: 'pieces', pieces: [{ location: { kind: 'optimized-out' }, size: 8 }, { location: { kind: 'register', regno: 1 }, size: 8 }] });
});

test('DW_OP_implicit_value carries the bytes themselves', async () => {
  assert.deepEqual(await run([op.implicitValue([1, 2, 3, 4])]), { kind: 'implicit', bytes: Buffer.from([1, 2, 3, 4]) });
});

test('DW_OP_entry_value: the register on entry when the unwinder knows it, else what the call site passed, else optimized out (gdb)', async () => {
  const e = [op.entryValue(op.reg(5)), op.stackValue()];
  assert.deepEqual(await run(e, ctx({}, {}, { entryRegister: (n) => (n === 5 ? 0x77n : undefined) })), { kind: 'value', value: 0x77n });
  assert.deepEqual(await run(e, ctx({}, {}, { callSiteValue: (n) => (n === 5 ? 0x66n : undefined) })), { kind: 'value', value: 0x66n });
  assert.deepEqual(await run(e, ctx()), { kind: 'optimized-out' });
});

test('a register the frame does not know makes the location unavailable, never a guess', async () => {
  assert.deepEqual(await run([op.breg(3, 0)], ctx({ 7: 1n })), { kind: 'unavailable', reason: 'register 3 is not known in this frame' });
  assert.deepEqual(await run([op.callFrameCfa()]), { kind: 'unavailable', reason: 'the frame address (CFA) is not known' });
});

test('a stack underflow and an unsupported operation are unavailable with the reason', async () => {
  assert.deepEqual(await run([op.plus()]), { kind: 'unavailable', reason: 'malformed expression (stack underflow)' });
  assert.deepEqual(await run([op.implicitPointer()]), { kind: 'unavailable', reason: 'DW_OP 0xa0 is not supported' });
  assert.deepEqual(await run([[0xe0]]), { kind: 'unavailable', reason: 'DW_OP 0xe0 is not supported' });
});

test('DW_OP_nop does nothing; the top of the stack is a memory address', async () => {
  assert.deepEqual(await run([op.nop(), op.lit(31), op.nop()]), { kind: 'memory', address: 31n });
});
