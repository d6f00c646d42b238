/**
 * Length of the x86 no-op instruction at the start of `code`, or undefined when it is anything
 * else. Kernel functions built with ftrace start with a 5-byte NOP (`nopl 0x0(%rax,%rax,1)`, the
 * patched-out `call __fentry__`) and, with IBT, with `endbr64`: stepping over a breakpoint on one
 * of these is just moving rip, which costs QEMU nothing, where a real single step makes it throw
 * away all of its translated code (twice).
 */
export function nopLength(code: Buffer): number | undefined {
  let i = 0;
  // Operand-size prefixes pad multi-byte NOPs (66 0f 1f 84 00 ...).
  while (i < code.length && code[i] === 0x66 && i < 4) i++;
  const op = code[i];
  if (op === 0x90) return i + 1; // nop (66 90 = xchg ax,ax)
  if (op === 0xf3 && code[i + 1] === 0x0f && code[i + 2] === 0x1e && code[i + 3] === 0xfa) return i === 0 ? 4 : undefined; // endbr64
  if (op === 0x0f && code[i + 1] === 0x1f) {
    // nopl r/m: 0f 1f /0 with a ModRM (and maybe SIB and displacement) that only names memory.
    const modrm = code[i + 2];
    if (modrm === undefined || ((modrm >> 3) & 7) !== 0) return undefined;
    const mod = modrm >> 6;
    const rm = modrm & 7;
    let len = i + 3;
    if (mod !== 3 && rm === 4) len++; // SIB
    if (mod === 1) len += 1;
    else if (mod === 2 || (mod === 0 && rm === 5)) len += 4;
    return len <= code.length ? len : undefined;
  }
  return undefined;
}
