/**
 * x86-64's frame set-up at a function's entry as gdb's amd64_analyze_prologue recognises it:
 * an optional `endbr64`, then `push %rbp; mov %rsp,%rbp` (either encoding of the mov). Its length
 * in bytes, or undefined when the function does not set up a frame pointer.
 */
export function X86_64_FRAME_SETUP(code: Buffer): number | undefined {
  if (code.length < 4) return undefined;
  let i = 0;
  if (code.readUInt32BE(0) === 0xf30f1efa) i = 4; // endbr64
  if (code.length < i + 4 || code[i] !== 0x55) return undefined; // push %rbp
  const mov = code.readUIntBE(i + 1, 3);
  return mov === 0x4889e5 || mov === 0x488bec ? i + 4 : undefined; // mov %rsp,%rbp
}
