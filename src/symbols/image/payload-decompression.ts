import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { decompress as unzstd } from 'fzstd';
import { FormatError, MissingDependencyError } from '../../errors.js';
import { decodeLz4Legacy } from './lz4-legacy-decoder.js';

/** The compressors a kernel's CONFIG_KERNEL_* choice can use for the payload, and "none". */
export type PayloadCompression = 'gzip' | 'lz4' | 'zstd' | 'xz' | 'bzip2' | 'lzma' | 'lzo' | 'none';

const MAGICS: readonly (readonly [PayloadCompression, readonly number[]])[] = [
  ['gzip', [0x1f, 0x8b]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  // lzma_alone: the properties byte kernels use (lc=3 lp=0 pb=2), then a little-endian dictionary size.
  ['lzma', [0x5d, 0x00, 0x00]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['none', [0x7f, 0x45, 0x4c, 0x46]],
];

/** The payload's compression, told by its magic bytes; undefined when none matches. */
export function payloadCompression(payload: Uint8Array): PayloadCompression | undefined {
  return MAGICS.find(([, magic]) => magic.length <= payload.length && magic.every((b, i) => payload[i] === b))?.[0];
}

/**
 * The uncompressed kernel in a bzImage payload. The kernel's build appends the uncompressed size as a
 * u32 LE to every compressed payload (for gzip that word is gzip's own ISIZE trailer), and the boot
 * code trusts it: it is cut off before decoders that would read it as data, and the output is checked
 * against it. `fileOffset` is where the payload starts in `name`, for error messages.
 */
export function decompressPayload(payload: Buffer, name: string, fileOffset: number): Buffer {
  const compression = payloadCompression(payload);
  if (compression === undefined) {
    throw new FormatError(name, fileOffset, `the payload's compression is unknown (it starts ${payload.subarray(0, 6).toString('hex')})`);
  }
  if (compression === 'none') return payload;
  if (compression === 'bzip2' || compression === 'lzma' || compression === 'lzo') {
    throw new FormatError(name, fileOffset, `the kernel is compressed with ${compression}, which kdive cannot unpack yet: pass --vmlinux`);
  }
  if (payload.length < 8) throw new FormatError(name, fileOffset, `the ${compression} payload is only ${payload.length} bytes`);
  const expectedSize = payload.readUInt32LE(payload.length - 4);
  // gzip's ISIZE is the size word; the other decoders are given the stream without it.
  const output = compression === 'gzip' ? gunzip(payload, name, fileOffset) : UNPACK[compression](payload.subarray(0, payload.length - 4), name, fileOffset);
  // Sizes wrap at 4 GiB in the u32; a kernel is far smaller, so compare the low 32 bits.
  if (output.length % 2 ** 32 !== expectedSize) {
    throw new FormatError(name, fileOffset + payload.length - 4, `the ${compression} payload unpacked to ${output.length} bytes, but the image says ${expectedSize}: corrupt or truncated?`);
  }
  return output;
}

const UNPACK: Record<'lz4' | 'zstd' | 'xz', (stream: Buffer, name: string, fileOffset: number) => Buffer> = {
  lz4: decodeLz4Legacy,
  zstd: unzstdPayload,
  xz: unxz,
};

function gunzip(payload: Buffer, name: string, fileOffset: number): Buffer {
  try {
    // A sync flush at the end returns what was decoded instead of throwing on a cut stream; the size check then reports it.
    return zlib.gunzipSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (err) {
    throw new FormatError(name, fileOffset, `bad gzip payload: ${(err as Error).message}`);
  }
}

function unzstdPayload(stream: Buffer, name: string, fileOffset: number): Buffer {
  try {
    const out = unzstd(stream);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new FormatError(name, fileOffset, `bad zstd payload: ${(err as Error).message}`);
  }
}

/**
 * xz through the host's xz: x86 kernels are packed with the x86 BCJ filter (scripts/xz_wrap.sh), which
 * the JavaScript/WASM xz decoders on npm (xz-decompress 0.2.3) do not implement.
 */
function unxz(stream: Buffer, name: string, fileOffset: number): Buffer {
  try {
    return execFileSync('xz', ['--decompress', '--stdout', '--single-stream'], { input: stream, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new MissingDependencyError('xz', 'xz-utils');
    const why = e.stderr?.toString('utf8').trim().split('\n')[0] || e.message.split('\n')[0];
    throw new FormatError(name, fileOffset, `bad xz payload: ${why}`);
  }
}
