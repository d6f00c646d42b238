import { FormatError } from '../../errors.js';

/** The LZ4 legacy frame (what `lz4 -l` writes, and the kernel's CONFIG_KERNEL_LZ4 uses). */
export const LZ4_LEGACY_MAGIC = 0x184c2102;
/** Every block of a legacy frame decodes to at most 8 MiB; blocks are independent of each other. */
const MAX_BLOCK_OUTPUT = 8 << 20;
/** LZ4_compressBound(8 MiB): no valid block is larger. */
const MAX_BLOCK_INPUT = MAX_BLOCK_OUTPUT + Math.floor(MAX_BLOCK_OUTPUT / 255) + 16;
/** Below this many bytes a byte loop beats the call into copy()/copyWithin(). */
const SHORT_COPY = 16;

/**
 * Decodes an LZ4 legacy frame: the magic, then {u32 LE compressed size, block} until the input ends.
 * Stops cleanly at a size word that is the input's last 4 bytes (the kernel appends the uncompressed
 * size after the frame) or when fewer than 4 bytes are left. `fileOffset` is where `stream` starts in
 * `name`, so errors point into the file.
 */
export function decodeLz4Legacy(stream: Uint8Array, name: string, fileOffset = 0): Buffer {
  const input = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  if (input.length < 4 || input.readUInt32LE(0) !== LZ4_LEGACY_MAGIC) {
    throw new FormatError(name, fileOffset, 'not an LZ4 legacy frame (no magic 02 21 4c 18)');
  }
  // Kernels compress about 4:1; growing by doubling covers the rest.
  let output = Buffer.allocUnsafe(Math.max(input.length * 4, MAX_BLOCK_OUTPUT));
  let outLength = 0;
  let at = 4;
  while (input.length - at >= 4) {
    const size = input.readUInt32LE(at);
    const blockAt = at + 4;
    if (size === LZ4_LEGACY_MAGIC) {
      // Another frame concatenated to this one: the kernel's unlz4 reads on.
      at = blockAt;
      continue;
    }
    if (blockAt === input.length) break;
    if (size === 0 || size > MAX_BLOCK_INPUT || size > input.length - blockAt) {
      const problem = size > input.length - blockAt ? `runs past the end of the stream (${input.length - blockAt} bytes left): truncated?` : 'is not a possible LZ4 block size';
      throw new FormatError(name, fileOffset + at, `LZ4 block size ${size} ${problem}`);
    }
    if (output.length - outLength < MAX_BLOCK_OUTPUT) {
      const grown = Buffer.allocUnsafe(Math.max(output.length * 2, outLength + MAX_BLOCK_OUTPUT));
      output.copy(grown, 0, 0, outLength);
      output = grown;
    }
    outLength = decodeBlock(input, blockAt, blockAt + size, output, outLength, name, fileOffset + blockAt);
    at = blockAt + size;
  }
  return output.subarray(0, outLength);
}

/**
 * One LZ4 block (token, literals, 2-byte offset, match) from `src[start, end)` into `dst` at `outStart`;
 * returns the end of its output. Every length and offset is checked, so a corrupt block is a
 * FormatError naming `blockFileOffset`, never a RangeError or a read of stale bytes.
 */
function decodeBlock(src: Buffer, start: number, end: number, dst: Buffer, outStart: number, name: string, blockFileOffset: number): number {
  const fail = (ip: number, what: string): never => {
    throw new FormatError(name, blockFileOffset, `bad LZ4 block: ${what} (at byte ${ip - start} of the block)`);
  };
  const outLimit = outStart + MAX_BLOCK_OUTPUT;
  let ip = start;
  let op = outStart;
  for (;;) {
    const token = src[ip++];
    let literals = token >>> 4;
    if (literals === 15) {
      const more = lengthExtension(src, ip, end);
      if (more < 0) fail(ip, 'the literal length runs past the end of the block');
      literals += more;
      ip += Math.floor(more / 255) + 1;
    }
    if (literals > end - ip) fail(ip, `${literals} literals run past the end of the block`);
    if (literals > outLimit - op) fail(ip, 'the block decodes to more than 8 MiB');
    if (literals < SHORT_COPY) {
      for (let i = 0; i < literals; i++) dst[op + i] = src[ip + i];
    } else {
      src.copy(dst, op, ip, ip + literals);
    }
    ip += literals;
    op += literals;
    // The last sequence is literals only.
    if (ip === end) return op;
    if (end - ip < 2) fail(ip, 'the match offset is cut short by the end of the block');
    const offset = src[ip] | (src[ip + 1] << 8);
    if (offset === 0 || offset > op - outStart) fail(ip, `match offset ${offset} reaches before the start of the block's output (${op - outStart} bytes so far)`);
    ip += 2;
    let length = token & 15;
    if (length === 15) {
      const more = lengthExtension(src, ip, end);
      if (more < 0) fail(ip, 'the match length runs past the end of the block');
      length += more;
      ip += Math.floor(more / 255) + 1;
    }
    length += 4;
    if (length > outLimit - op) fail(ip, 'the block decodes to more than 8 MiB');
    const from = op - offset;
    if (offset < length || length < SHORT_COPY) {
      // An overlapping match repeats the last `offset` bytes: each byte must be read after it is written.
      for (let i = 0; i < length; i++) dst[op + i] = dst[from + i];
    } else {
      dst.copyWithin(op, from, from + length);
    }
    op += length;
    // The format wants literals last, but a block that ends on a match is still whole.
    if (ip === end) return op;
  }
}

/**
 * What a length's extension bytes at `src[ip]` add: 255s, then one byte below 255 (so they are
 * floor(sum / 255) + 1 bytes long). -1 when the block ends first.
 */
function lengthExtension(src: Buffer, ip: number, end: number): number {
  let sum = 0;
  for (; ip < end; ip++) {
    sum += src[ip];
    if (src[ip] !== 255) return sum;
  }
  return -1;
}
