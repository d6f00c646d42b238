import { ByteCursor } from './byte-cursor.js';

/** Where a value lives, or why there is none. */
export type Location =
  | { kind: 'memory'; address: bigint }
  | { kind: 'register'; regno: number }
  | { kind: 'value'; value: bigint }
  | { kind: 'implicit'; bytes: Buffer }
  | { kind: 'pieces'; pieces: { location: Location; size: number }[] }
  | { kind: 'optimized-out' }
  | { kind: 'unavailable'; reason: string };

/** What evaluation may ask of the frame. DWARF register numbers (x86-64: 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 rip). */
export interface ExpressionContext {
  readRegister(regno: number): bigint | undefined;
  readMemory(address: bigint, length: number): Promise<Buffer>;
  /** DW_AT_frame_base of the function, evaluated (usually DW_OP_call_frame_cfa). */
  frameBase?: () => Promise<bigint | undefined>;
  /** The canonical frame address (the caller's sp before the call). */
  cfa?: bigint;
  /** A register's value on entry to the function (DW_OP_entry_value); undefined when not known. */
  entryRegister?: (regno: number) => bigint | undefined;
  /** What the caller passed in a register, from its call site's DW_AT_call_value (gdb's entry values). */
  callSiteValue?: (regno: number) => bigint | undefined;
  addressSize?: number;
}

class Unavailable extends Error {}
/** gdb's NO_ENTRY_VALUE_ERROR: a value on entry nobody can give makes the variable <optimized out>. */
class NoEntryValue extends Error {}

const MASK = (1n << 64n) - 1n;

/**
 * Evaluates a DWARF location expression (the DW_OP set GCC emits for the kernel). Values we
 * cannot know (a register the unwinder did not recover) give 'unavailable', never a guess.
 */
export async function evaluateLocation(expr: Buffer, ctx: ExpressionContext): Promise<Location> {
  try {
    return await evaluate(expr, ctx);
  } catch (err) {
    if (err instanceof Unavailable) return { kind: 'unavailable', reason: err.message };
    if (err instanceof NoEntryValue) return { kind: 'optimized-out' };
    throw err;
  }
}

async function evaluate(expr: Buffer, ctx: ExpressionContext): Promise<Location> {
  if (expr.length === 0) return { kind: 'optimized-out' };
  const c = new ByteCursor(expr, 0, 'location expression', '');
  const stack: bigint[] = [];
  const pieces: { location: Location; size: number }[] = [];
  let result: Location | undefined;
  const reg = (n: number): bigint => {
    const v = ctx.readRegister(n);
    if (v === undefined) throw new Unavailable(`register ${n} is not known in this frame`);
    return v;
  };
  const pop = (): bigint => {
    const v = stack.pop();
    if (v === undefined) throw new Unavailable('malformed expression (stack underflow)');
    return v;
  };
  const size = ctx.addressSize ?? 8;
  while (c.pos < expr.length) {
    const op = c.u8();
    if (op >= 0x30 && op <= 0x4f) stack.push(BigInt(op - 0x30)); // lit0..31
    else if (op >= 0x50 && op <= 0x6f) result = { kind: 'register', regno: op - 0x50 }; // reg0..31
    else if (op >= 0x70 && op <= 0x8f) stack.push((reg(op - 0x70) + BigInt(c.sleb())) & MASK); // breg0..31
    else switch (op) {
      case 0x03: stack.push(c.address(size)); break; // addr
      case 0x06: { const a = pop(); stack.push((await ctx.readMemory(a, 8)).readBigUInt64LE(0)); break; } // deref
      case 0x08: stack.push(BigInt(c.u8())); break; // const1u
      case 0x09: stack.push(BigInt.asUintN(64, BigInt((c.u8() << 24) >> 24))); break;
      case 0x0a: stack.push(BigInt(c.u16())); break;
      case 0x0b: stack.push(BigInt.asUintN(64, BigInt((c.u16() << 16) >> 16))); break;
      case 0x0c: stack.push(BigInt(c.u32())); break;
      case 0x0d: stack.push(BigInt.asUintN(64, BigInt(c.u32() | 0))); break;
      case 0x0e: stack.push(c.u64()); break;
      case 0x0f: stack.push(c.u64()); break;
      case 0x10: stack.push(c.ulebBig()); break; // constu
      case 0x11: stack.push(BigInt.asUintN(64, BigInt(c.sleb()))); break; // consts
      case 0x12: stack.push(stack[stack.length - 1] ?? pop()); break; // dup
      case 0x13: pop(); break; // drop
      case 0x14: stack.push(stack[stack.length - 2] ?? pop()); break; // over
      case 0x16: { const a = pop(); const b = pop(); stack.push(a, b); break; } // swap
      case 0x1a: { const b = pop(); stack.push(pop() & b); break; }
      case 0x1c: { const b = pop(); stack.push((pop() - b) & MASK); break; }
      case 0x1e: { const b = pop(); stack.push((pop() * b) & MASK); break; }
      case 0x1f: stack.push((-pop()) & MASK); break;
      case 0x20: stack.push(~pop() & MASK); break;
      case 0x21: { const b = pop(); stack.push(pop() | b); break; }
      case 0x22: { const b = pop(); stack.push((pop() + b) & MASK); break; }
      case 0x23: stack.push((pop() + c.ulebBig()) & MASK); break; // plus_uconst
      // Shifts by 64 or more: 0 (or the sign) as on a 64-bit machine, not a BigInt of 2^b bits.
      case 0x24: { const b = pop(); const a = pop(); stack.push(b >= 64n ? 0n : (a << b) & MASK); break; }
      case 0x25: { const b = pop(); const a = pop(); stack.push(b >= 64n ? 0n : a >> b); break; }
      case 0x26: { const b = pop(); stack.push(BigInt.asUintN(64, BigInt.asIntN(64, pop()) >> (b >= 64n ? 63n : b))); break; }
      case 0x27: { const b = pop(); stack.push(pop() ^ b); break; }
      case 0x90: result = { kind: 'register', regno: c.uleb() }; break; // regx
      case 0x91: { // fbreg
        const off = BigInt(c.sleb());
        const fb = ctx.frameBase ? await ctx.frameBase() : undefined;
        if (fb === undefined) throw new Unavailable('the frame base is not known');
        stack.push((fb + off) & MASK);
        break;
      }
      case 0x92: { const r = c.uleb(); stack.push((reg(r) + BigInt(c.sleb())) & MASK); break; } // bregx
      case 0x93: { // piece
        const n = c.uleb();
        pieces.push({ location: result ?? (stack.length ? { kind: 'memory', address: pop() } : { kind: 'optimized-out' }), size: n });
        result = undefined;
        break;
      }
      case 0x96: break; // nop
      case 0x9c: // call_frame_cfa
        if (ctx.cfa === undefined) throw new Unavailable('the frame address (CFA) is not known');
        stack.push(ctx.cfa);
        break;
      case 0x9e: result = { kind: 'implicit', bytes: Buffer.from(c.bytes(c.uleb())) }; break; // implicit_value
      case 0x9f: result = { kind: 'value', value: pop() }; break; // stack_value
      case 0xa3: case 0xf3: { // entry_value, GNU_entry_value
        const sub = c.bytes(c.uleb());
        const inner = sub.length >= 1 && sub[0]! >= 0x50 && sub[0]! <= 0x6f ? sub[0]! - 0x50 : sub[0] === 0x90 ? new ByteCursor(sub, 1, 'entry value', '').uleb() : undefined;
        const v = inner !== undefined ? (ctx.entryRegister?.(inner) ?? ctx.callSiteValue?.(inner)) : undefined;
        if (v === undefined) throw new NoEntryValue('the value on entry is not known');
        stack.push(v);
        break;
      }
      case 0xa1: case 0xa0: case 0xa2: case 0xfa: case 0xf2: // implicit_pointer, GNU_parameter_ref...
        throw new Unavailable(`DW_OP 0x${op.toString(16)} is not supported`);
      default:
        throw new Unavailable(`DW_OP 0x${op.toString(16)} is not supported`);
    }
  }
  if (pieces.length) return { kind: 'pieces', pieces };
  if (result) return result;
  const top = stack.pop();
  return top === undefined ? { kind: 'optimized-out' } : { kind: 'memory', address: top };
}
