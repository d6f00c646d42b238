import type { Arch } from '../arch/arch.js';
import type { BtfProgramTypes } from '../expr/btf-program-types.js';
import { isScalar, sizeOf, typeToString } from '../expr/c-types.js';
import { fromScalar, type ValueSource } from '../expr/c-value.js';
import { formatValue } from '../expr/value-printer.js';
import type { FrameArgument } from '../symbols/dwarf/index.js';

/**
 * A function's arguments at its first instruction, from its BTF prototype and the calling
 * convention: without DWARF this is the one place where arguments are known (a register is
 * reused as soon as the body runs, so past the entry they are not shown at all).
 */
export async function btfEntryArguments(types: BtfProgramTypes, fn: string, arch: Arch, readRegister: (name: string) => bigint | undefined, src: ValueSource): Promise<FrameArgument[] | undefined> {
  const params = types.functionParameters(fn);
  if (!params) return undefined;
  const out: FrameArgument[] = [];
  let slot = 0;
  for (const p of params) {
    const size = sizeOf(p.type);
    const reg = arch.argumentRegisters[slot];
    // A struct passed by value, or an argument past the registers, is on the stack or split: gdb's `...`.
    if (!isScalar(p.type) || size > 8 || reg === undefined) {
      out.push({ name: p.name, type: typeToString(p.type), value: '...' });
      slot += Math.max(1, Math.ceil(size / 8));
      continue;
    }
    slot++;
    const raw = readRegister(reg);
    const value = raw === undefined ? '<unavailable>' : await formatValue(fromScalar(p.type, size >= 8 ? raw : raw & ((1n << BigInt(size * 8)) - 1n)), src, undefined, false);
    out.push({ name: p.name, type: typeToString(p.type), value });
  }
  return out;
}
