import { FormatError } from '../../errors.js';

/** Where the compressed kernel lies in an x86 bzImage, from its boot protocol header. */
export interface BzImageHeader {
  /** Sectors of real-mode setup code after the boot sector. */
  setupSects: number;
  /** File offset of the protected-mode code (arch/x86/boot/compressed/vmlinux.bin). */
  protectedModeOffset: number;
  /** File offset of the compressed vmlinux (the boot protocol's payload_offset is relative to the protected-mode code). */
  payloadOffset: number;
  payloadLength: number;
}

const SETUP_SECTS = 0x1f1;
const HEADER_MAGIC = 0x202;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;
/** The header must reach payload_length; payload_offset came with boot protocol 2.08. */
const HEADER_END = PAYLOAD_LENGTH + 4;
const SECTOR = 512;

/** Whether `bytes` start like an x86 bzImage ("HdrS" at 0x202). */
export function isBzImage(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER_MAGIC + 4 && Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_MAGIC, 4).toString('latin1') === 'HdrS';
}

/** The payload's place in a bzImage, checked against the file's size. */
export function parseBzImageHeader(bytes: Buffer, name: string): BzImageHeader {
  if (!isBzImage(bytes)) throw new FormatError(name, HEADER_MAGIC, 'not an x86 bzImage (no "HdrS" boot header)');
  if (bytes.length < HEADER_END) throw new FormatError(name, bytes.length, `the boot header is cut short: the file ends before payload_length at 0x${PAYLOAD_LENGTH.toString(16)}`);
  // The boot protocol's historical rule: 0 setup sectors means 4.
  const setupSects = bytes[SETUP_SECTS] || 4;
  const protectedModeOffset = (setupSects + 1) * SECTOR;
  const relativeOffset = bytes.readUInt32LE(PAYLOAD_OFFSET);
  const payloadLength = bytes.readUInt32LE(PAYLOAD_LENGTH);
  const payloadOffset = protectedModeOffset + relativeOffset;
  if (payloadLength === 0) throw new FormatError(name, PAYLOAD_LENGTH, 'payload_length is 0: no compressed kernel (a boot protocol before 2.08?)');
  if (payloadOffset + payloadLength > bytes.length) {
    throw new FormatError(name, PAYLOAD_OFFSET, `the payload (0x${payloadLength.toString(16)} bytes at 0x${payloadOffset.toString(16)}) runs past the end of the file (0x${bytes.length.toString(16)} bytes): truncated?`);
  }
  return { setupSects, protectedModeOffset, payloadOffset, payloadLength };
}
