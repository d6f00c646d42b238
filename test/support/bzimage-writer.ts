import zlib from 'node:zlib';
import { writeTinyElf } from './tiny-elf-writer.js';

/**
 * Test-only writers for compressed kernel images: an x86 bzImage shell around a payload, a small
 * greedy LZ4 block encoder (the legacy frame the kernel's CONFIG_KERNEL_LZ4 writes), and a zstd frame
 * of raw blocks. Enough to exercise the decoders without the compressor programs.
 */

const SETUP_SECTS = 0x1f1;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;

export interface BzImageShape {
  /** The byte at 0x1f1; 0 stands for 4. */
  setupSects?: number;
  /** Bytes of protected-mode code before the payload. */
  payloadOffset?: number;
  /** Bytes after the payload (the real image has the rest of the decompressor there). */
  trailer?: number;
}

/** A bzImage: boot sector and setup with the "HdrS" header, protected-mode filler, the payload, a trailer. */
export function writeBzImage(payload: Buffer, shape: BzImageShape = {}): Buffer {
  const setupSects = shape.setupSects ?? 4;
  const payloadOffset = shape.payloadOffset ?? 0x40;
  const protectedMode = ((setupSects || 4) + 1) * 512;
  const image = Buffer.alloc(protectedMode + payloadOffset + payload.length + (shape.trailer ?? 0x20), 0xcc);
  image.fill(0, 0, protectedMode);
  image[SETUP_SECTS] = setupSects;
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt32LE(payloadOffset, PAYLOAD_OFFSET);
  image.writeUInt32LE(payload.length, PAYLOAD_LENGTH);
  payload.copy(image, protectedMode + payloadOffset);
  return image;
}

/** The uncompressed size as u32 LE, which the kernel's build appends to every payload but gzip's. */
export function withSizeWord(stream: Buffer, uncompressedSize: number): Buffer {
  return Buffer.concat([stream, u32le(uncompressedSize)]);
}

export function u32le(value: number): Buffer {
  const word = Buffer.alloc(4);
  word.writeUInt32LE(value);
  return word;
}

/** The payload a kernel build would make of `elf` with each compressor kdive unpacks itself. */
export function kernelPayload(compression: 'gzip' | 'lz4' | 'zstd', elf: Buffer): Buffer {
  if (compression === 'gzip') return zlib.gzipSync(elf);
  return withSizeWord(compression === 'lz4' ? encodeLz4Legacy(elf) : encodeZstdRaw(elf), elf.length);
}

/** An LZ4 legacy frame: the magic, then {u32 LE size, block} per `blockSize` bytes of input. */
export function encodeLz4Legacy(data: Buffer, blockSize = 8 << 20): Buffer {
  const parts: Buffer[] = [Buffer.from([0x02, 0x21, 0x4c, 0x18])];
  for (let at = 0; at < data.length; at += blockSize) {
    const block = encodeLz4Block(data.subarray(at, at + blockSize));
    parts.push(u32le(block.length), block);
  }
  return Buffer.concat(parts);
}

/**
 * One LZ4 block, greedy: each 4-byte word matches its last occurrence within 64 KiB. A run of one
 * byte thus becomes an offset-1 match that overlaps its own output. Follows the format's end rules
 * (the last match starts 12 bytes before the end, the last 5 bytes are literals) so lz4(1) reads it too.
 */
export function encodeLz4Block(data: Buffer): Buffer {
  const out: number[] = [];
  const lastAt = new Map<number, number>();
  const matchStartLimit = data.length - 12;
  const matchEndLimit = data.length - 5;
  let anchor = 0;
  let i = 0;
  while (i < matchStartLimit) {
    const word = data.readUInt32LE(i);
    const candidate = lastAt.get(word);
    lastAt.set(word, i);
    if (candidate === undefined || i - candidate > 0xffff) {
      i++;
      continue;
    }
    let length = 4;
    while (i + length < matchEndLimit && data[candidate + length] === data[i + length]) length++;
    writeSequence(out, data.subarray(anchor, i), i - candidate, length);
    i += length;
    anchor = i;
  }
  writeSequence(out, data.subarray(anchor), 0, 0);
  return Buffer.from(out);
}

/** A sequence: token, literals, and (when `matchLength` > 0) the offset and match length. */
function writeSequence(out: number[], literals: Buffer, offset: number, matchLength: number): void {
  const matchCode = matchLength === 0 ? 0 : matchLength - 4;
  out.push((Math.min(literals.length, 15) << 4) | Math.min(matchCode, 15));
  writeLengthExtension(out, literals.length);
  out.push(...literals);
  if (matchLength === 0) return;
  out.push(offset & 0xff, offset >> 8);
  writeLengthExtension(out, matchCode);
}

function writeLengthExtension(out: number[], length: number): void {
  if (length < 15) return;
  let rest = length - 15;
  for (; rest >= 255; rest -= 255) out.push(255);
  out.push(rest);
}

/** A zstd frame of raw (stored) blocks with a 4-byte content size: framing only, no entropy coding. */
export function encodeZstdRaw(data: Buffer): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0]);
  // Descriptor 0xa0: single segment, a 4-byte frame content size, no checksum, no dictionary.
  header.writeUInt32LE(data.length, 5);
  const parts: Buffer[] = [header];
  const maxBlock = 128 << 10;
  for (let at = 0; at < data.length || at === 0; at += maxBlock) {
    const chunk = data.subarray(at, at + maxBlock);
    const last = at + maxBlock >= data.length ? 1 : 0;
    const blockHeader = (chunk.length << 3) | last;
    parts.push(Buffer.from([blockHeader & 0xff, (blockHeader >> 8) & 0xff, blockHeader >> 16]), chunk);
  }
  return Buffer.concat(parts);
}

/** A small ELF with the sections kdive reads from a stripped vmlinux, compressible like real ones. */
export function fakeVmlinux(): Buffer {
  const btf = Buffer.alloc(3000);
  for (let i = 0; i < btf.length; i++) btf[i] = (i * 31) % 251;
  return writeTinyElf([
    { name: '.BTF', data: btf },
    { name: '.rodata', data: Buffer.from('kallsyms_names\0'.repeat(100)) },
    { name: '.orc_unwind', data: Buffer.alloc(600, 0x11) },
  ]);
}
