/**
 * Just enough of an ELF header to tell a usable x86-64 vmlinux from a wrong or truncated file
 * without the full ELF reader (symbols/elf): the first 64 bytes and the file size.
 * Returns what is wrong, or undefined when the header is sound.
 */
export function elfHeaderProblem(head: Buffer, fileSize: number): { offset: number; expected: string } | undefined {
  if (head.length < 64) return { offset: head.length, expected: 'a 64-byte ELF header (file too short)' };
  if (head.readUInt32BE(0) !== 0x7f454c46) return { offset: 0, expected: 'the ELF magic \\x7fELF' };
  if (head[4] !== 2) return { offset: 4, expected: 'ELFCLASS64 (2)' };
  if (head[5] !== 1) return { offset: 5, expected: 'little-endian data (ELFDATA2LSB, 1)' };
  if (head[6] !== 1) return { offset: 6, expected: 'ELF version 1' };
  const type = head.readUInt16LE(16);
  if (type !== 2 && type !== 3) return { offset: 16, expected: `an executable (ET_EXEC or ET_DYN), not e_type ${type}` };
  const machine = head.readUInt16LE(18);
  if (machine !== 62) return { offset: 18, expected: `x86-64 (e_machine 62), not ${machine}` };
  const shoff = head.readBigUInt64LE(40);
  const shentsize = head.readUInt16LE(58);
  const shnum = head.readUInt16LE(60);
  // The section headers sit at the end of a vmlinux: a cut-off copy loses them first.
  const shEnd = shoff + BigInt(shentsize) * BigInt(shnum);
  if (shnum > 0 && shEnd > BigInt(fileSize)) {
    return { offset: 40, expected: `section headers ending at 0x${shEnd.toString(16)}, but the file has only ${fileSize} bytes (truncated?)` };
  }
  return undefined;
}
