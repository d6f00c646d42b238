import { FormatError } from '../../errors.js';
import { parseBzImageHeader } from './bzimage-header.js';
import { decompressPayload } from './payload-decompression.js';

export { isBzImage } from './bzimage-header.js';

/**
 * The vmlinux ELF inside an x86 bzImage: the boot header locates the compressed payload, which
 * unpacks to the stripped vmlinux (arch/x86/boot/compressed/vmlinux.bin) with its section headers,
 * so .BTF, .orc_unwind* and the kallsyms tables in .rodata are there. `name` is for error messages.
 */
export function extractVmlinux(bytes: Buffer, name: string): Buffer {
  const header = parseBzImageHeader(bytes, name);
  const payload = bytes.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
  const elf = decompressPayload(payload, name, header.payloadOffset);
  if (elf.length < 4 || elf.readUInt32BE(0) !== 0x7f454c46) {
    throw new FormatError(name, header.payloadOffset, 'the payload unpacked to something that is not an ELF file (no \\x7fELF magic)');
  }
  return elf;
}
