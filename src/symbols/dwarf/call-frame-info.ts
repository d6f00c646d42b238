import { ByteCursor } from './byte-cursor.js';
import type { DwarfSections } from './dwarf-sections.js';

/** How to find a register's value in the caller, at one pc (DWARF 5 §6.4.1). */
export type RegisterRule =
  | { kind: 'undefined' }
  | { kind: 'same' }
  | { kind: 'offset'; offset: number } // saved at CFA + offset
  | { kind: 'val-offset'; offset: number } // the value is CFA + offset
  | { kind: 'register'; regno: number }
  | { kind: 'expression'; expr: Buffer }
  | { kind: 'val-expression'; expr: Buffer };

export interface FrameRules {
  cfa: { kind: 'register'; regno: number; offset: number } | { kind: 'expression'; expr: Buffer };
  registers: Map<number, RegisterRule>;
  returnAddressRegister: number;
}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  initial: Buffer;
  addressSize: number;
}

interface Fde {
  start: bigint;
  end: bigint;
  cie: Cie;
  program: Buffer;
}

/**
 * `.debug_frame`: call frame information, for unwinding code ORC does not cover and for
 * recovering the callee-saved registers of caller frames (which ORC does not track).
 */
export class CallFrameInfo {
  private constructor(private readonly fdes: Fde[], private readonly file: string) {}

  static async read(sections: DwarfSections): Promise<CallFrameInfo | undefined> {
    const buf = await sections.section('.debug_frame');
    if (!buf) return undefined;
    const c = new ByteCursor(buf, 0, '.debug_frame', sections.file);
    const cies = new Map<number, Cie>();
    const fdes: Fde[] = [];
    const parseCie = (at: number): Cie => {
      const known = cies.get(at);
      if (known) return known;
      const k = new ByteCursor(buf, at, '.debug_frame', sections.file);
      const { length, offsetSize } = k.initialLength();
      const end = k.pos + length;
      k.skip(offsetSize); // CIE id
      const version = k.u8();
      const augmentation = k.cstring();
      let addressSize = 8;
      if (version >= 4) {
        addressSize = k.u8();
        k.u8(); // segment selector size
      }
      const codeAlign = k.uleb();
      const dataAlign = k.sleb();
      const raReg = version === 1 ? k.u8() : k.uleb();
      if (augmentation !== '') k.fail(`CIE augmentation '${augmentation}' is not supported in .debug_frame`);
      const cie = { codeAlign, dataAlign, raReg, initial: buf.subarray(k.pos, end), addressSize };
      cies.set(at, cie);
      return cie;
    };
    while (c.pos < buf.length) {
      const at = c.pos;
      const { length, offsetSize } = c.initialLength();
      if (length === 0) continue;
      const end = c.pos + length;
      const id = offsetSize === 4 ? BigInt(c.u32()) : c.u64();
      const isCie = id === (offsetSize === 4 ? 0xffffffffn : 0xffffffffffffffffn);
      if (!isCie) {
        const cie = parseCie(Number(id));
        const start = c.address(cie.addressSize);
        const range = c.address(cie.addressSize);
        fdes.push({ start, end: start + range, cie, program: buf.subarray(c.pos, end) });
      } else parseCie(at);
      c.pos = end;
    }
    fdes.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    return new CallFrameInfo(fdes, sections.file);
  }

  get size(): number {
    return this.fdes.length;
  }

  /** The rules in force at `pc`, or undefined when no FDE covers it. */
  rulesAt(pc: bigint): FrameRules | undefined {
    let lo = 0;
    let hi = this.fdes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.fdes[mid]!.start <= pc) lo = mid + 1;
      else hi = mid;
    }
    const fde = this.fdes[lo - 1];
    if (!fde || pc >= fde.end) return undefined;
    const state: FrameRules = { cfa: { kind: 'register', regno: 7, offset: 8 }, registers: new Map(), returnAddressRegister: fde.cie.raReg };
    const initial = this.run(fde.cie.initial, fde.cie, state, undefined, undefined, fde.start);
    this.run(fde.program, fde.cie, state, initial, pc, fde.start);
    return state;
  }

  private run(program: Buffer, cie: Cie, state: FrameRules, initial: FrameRules | undefined, target: bigint | undefined, start: bigint): FrameRules {
    const c = new ByteCursor(program, 0, '.debug_frame', this.file);
    const stack: FrameRules[] = [];
    let loc = start;
    const copy = (s: FrameRules): FrameRules => ({ cfa: { ...s.cfa }, registers: new Map(s.registers), returnAddressRegister: s.returnAddressRegister });
    const restore = (r: number) => {
      const rule = initial?.registers.get(r);
      if (rule) state.registers.set(r, rule);
      else state.registers.delete(r);
    };
    const advance = (delta: number): boolean => {
      loc += BigInt(delta * cie.codeAlign);
      return target !== undefined && loc > target;
    };
    while (c.pos < program.length) {
      const op = c.u8();
      const high = op & 0xc0;
      const low = op & 0x3f;
      if (high === 0x40) { if (advance(low)) break; continue; }
      if (high === 0x80) { state.registers.set(low, { kind: 'offset', offset: c.uleb() * cie.dataAlign }); continue; }
      if (high === 0xc0) { restore(low); continue; }
      switch (op) {
        case 0x00: break; // nop
        case 0x01: loc = c.address(cie.addressSize); if (target !== undefined && loc > target) return copy(state); break;
        case 0x02: if (advance(c.u8())) return copy(state); break;
        case 0x03: if (advance(c.u16())) return copy(state); break;
        case 0x04: if (advance(c.u32())) return copy(state); break;
        case 0x05: { const r = c.uleb(); state.registers.set(r, { kind: 'offset', offset: c.uleb() * cie.dataAlign }); break; }
        case 0x06: restore(c.uleb()); break;
        case 0x07: state.registers.set(c.uleb(), { kind: 'undefined' }); break;
        case 0x08: state.registers.set(c.uleb(), { kind: 'same' }); break;
        case 0x09: { const r = c.uleb(); state.registers.set(r, { kind: 'register', regno: c.uleb() }); break; }
        case 0x0a: stack.push(copy(state)); break;
        case 0x0b: { const s = stack.pop(); if (s) { state.cfa = s.cfa; state.registers = s.registers; } break; }
        case 0x0c: state.cfa = { kind: 'register', regno: c.uleb(), offset: c.uleb() }; break;
        case 0x0d: { const cfa = state.cfa; state.cfa = { kind: 'register', regno: c.uleb(), offset: cfa.kind === 'register' ? cfa.offset : 0 }; break; }
        case 0x0e: { if (state.cfa.kind === 'register') state.cfa.offset = c.uleb(); else c.uleb(); break; }
        case 0x0f: state.cfa = { kind: 'expression', expr: Buffer.from(c.bytes(c.uleb())) }; break;
        case 0x10: { const r = c.uleb(); state.registers.set(r, { kind: 'expression', expr: Buffer.from(c.bytes(c.uleb())) }); break; }
        case 0x11: { const r = c.uleb(); state.registers.set(r, { kind: 'offset', offset: c.sleb() * cie.dataAlign }); break; }
        case 0x12: state.cfa = { kind: 'register', regno: c.uleb(), offset: c.sleb() * cie.dataAlign }; break;
        case 0x13: { if (state.cfa.kind === 'register') state.cfa.offset = c.sleb() * cie.dataAlign; else c.sleb(); break; }
        case 0x14: { const r = c.uleb(); state.registers.set(r, { kind: 'val-offset', offset: c.uleb() * cie.dataAlign }); break; }
        case 0x15: { const r = c.uleb(); state.registers.set(r, { kind: 'val-offset', offset: c.sleb() * cie.dataAlign }); break; }
        case 0x16: { const r = c.uleb(); state.registers.set(r, { kind: 'val-expression', expr: Buffer.from(c.bytes(c.uleb())) }); break; }
        case 0x2e: c.uleb(); break; // GNU_args_size
        default: c.fail(`unknown call frame instruction 0x${op.toString(16)}`, c.pos - 1);
      }
    }
    return copy(state);
  }
}

/** x86-64 callee-saved registers (rbx, rbp, r12-r15): a caller's value survives when CFI says nothing. */
const CALLEE_SAVED = new Set([3, 6, 12, 13, 14, 15]);

/**
 * One CFI step: the caller's registers from the callee's, `read` reading 8 bytes of memory.
 * Registers we cannot know are left out rather than guessed.
 */
export async function unwindRegistersWithCfi(
  rules: FrameRules,
  regs: Map<number, bigint>,
  read: (address: bigint) => Promise<bigint>,
): Promise<{ cfa: bigint; caller: Map<number, bigint> } | undefined> {
  if (rules.cfa.kind !== 'register') return undefined;
  const base = regs.get(rules.cfa.regno);
  if (base === undefined) return undefined;
  // Address arithmetic wraps at 64 bits as the CPU's does; a corrupt rule must not make a 65-bit sp.
  const cfa = BigInt.asUintN(64, base + BigInt(rules.cfa.offset));
  const caller = new Map<number, bigint>();
  for (const r of CALLEE_SAVED) {
    const v = regs.get(r);
    if (v !== undefined) caller.set(r, v);
  }
  for (const [r, rule] of rules.registers) {
    switch (rule.kind) {
      case 'offset':
        try {
          caller.set(r, await read(BigInt.asUintN(64, cfa + BigInt(rule.offset))));
        } catch {
          caller.delete(r);
        }
        break;
      case 'val-offset': caller.set(r, BigInt.asUintN(64, cfa + BigInt(rule.offset))); break;
      case 'same': { const v = regs.get(r); if (v !== undefined) caller.set(r, v); else caller.delete(r); break; }
      case 'register': { const v = regs.get(rule.regno); if (v !== undefined) caller.set(r, v); else caller.delete(r); break; }
      default: caller.delete(r);
    }
  }
  caller.set(7, cfa); // the caller's sp is the CFA
  const ra = caller.get(rules.returnAddressRegister);
  if (ra !== undefined) caller.set(16, ra);
  return { cfa, caller };
}
