import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { FormatError } from '../../errors.js';
import { decompressPayload, payloadCompression } from './payload-decompression.js';
import { kernelPayload, withSizeWord } from '../../../test/support/bzimage-writer.js';

const SAMPLE = Buffer.from(`\x7fELF${'kernel text and data, '.repeat(300)}`, 'latin1');

/** Whether a host compressor can be run (the xz and zstd cases need the real programs). */
function hostHas(program: string): boolean {
  try {
    execFileSync(program, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The payload a kernel build makes with a host compressor: its output, then the size word. */
function hostPayload(program: string, args: string[], data: Buffer): Buffer {
  return withSizeWord(execFileSync(program, args, { input: data }), data.length);
}

test('the compression is told by the magic bytes', () => {
  const cases: [string, number[]][] = [
    ['gzip', [0x1f, 0x8b, 8]],
    ['lz4', [0x02, 0x21, 0x4c, 0x18]],
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
    ['bzip2', [0x42, 0x5a, 0x68, 0x39]],
    ['lzma', [0x5d, 0x00, 0x00, 0x00, 0x04]],
    ['lzo', [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
    ['none', [0x7f, 0x45, 0x4c, 0x46, 2]],
  ];
  for (const [name, magic] of cases) assert.equal(payloadCompression(Buffer.from(magic)), name);
  assert.equal(payloadCompression(Buffer.from('plain text')), undefined);
  assert.equal(payloadCompression(Buffer.from([0x1f])), undefined);
});

for (const compression of ['gzip', 'lz4', 'zstd'] as const) {
  test(`a ${compression} payload unpacks to the bytes that were packed`, () => {
    assert.deepEqual(decompressPayload(kernelPayload(compression, SAMPLE), 'bzImage', 0x5000), SAMPLE);
  });
}

test('a size word that disagrees with the unpacked size is a FormatError at the word', () => {
  const payload = kernelPayload('lz4', SAMPLE);
  payload.writeUInt32LE(SAMPLE.length + 1, payload.length - 4);
  assert.throws(() => decompressPayload(payload, 'bzImage', 0x5000), (err: unknown) => err instanceof FormatError && err.message.includes(`at offset 0x${(0x5000 + payload.length - 4).toString(16)}:`) && err.message.includes(`unpacked to ${SAMPLE.length} bytes, but the image says ${SAMPLE.length + 1}`));
});

test('a cut gzip payload is a FormatError, not a zlib error', () => {
  const payload = kernelPayload('gzip', SAMPLE);
  assert.throws(() => decompressPayload(payload.subarray(0, payload.length / 2), 'bzImage', 0x5000), FormatError);
});

test('corrupt zstd is a FormatError at the payload', () => {
  const payload = kernelPayload('zstd', SAMPLE);
  payload[4] = 0xff; // reserved bits in the frame header descriptor
  assert.throws(() => decompressPayload(payload, 'bzImage', 0x5000), /bzImage: at offset 0x5000: bad zstd payload/);
});

for (const compression of ['bzip2', 'lzma', 'lzo']) {
  test(`${compression} is a one-line FormatError that says to pass --vmlinux`, () => {
    const magic = { bzip2: 'BZh9', lzma: '\x5d\x00\x00\x00\x04', lzo: '\x89LZO\x00\x0d\x0a\x1a\x0a' }[compression]!;
    assert.throws(() => decompressPayload(Buffer.from(`${magic}rest of it`, 'latin1'), 'vmlinuz', 0x52cc),
      (err: unknown) => err instanceof FormatError && err.message === `vmlinuz: at offset 0x52cc: the kernel is compressed with ${compression}, which kdive cannot unpack yet: pass --vmlinux`);
  });
}

test('an unknown compression is a FormatError showing the first bytes', () => {
  assert.throws(() => decompressPayload(Buffer.from('garbage!'), 'vmlinuz', 0x52cc), /at offset 0x52cc: the payload's compression is unknown \(it starts 676172626167\)/);
});

test('an uncompressed payload (CONFIG_KERNEL_UNCOMPRESSED) is the ELF itself', () => {
  assert.deepEqual(decompressPayload(SAMPLE, 'vmlinuz', 0), SAMPLE);
});

test('xz as the kernel packs it (x86 BCJ filter, CRC32) unpacks through the host xz', { skip: hostHas('xz') ? false : 'no xz program on this host' }, () => {
  const payload = hostPayload('xz', ['--check=crc32', '--x86', '--lzma2=dict=1MiB', '--stdout'], SAMPLE);
  assert.deepEqual(decompressPayload(payload, 'vmlinuz', 0), SAMPLE);
  payload[payload.length - 20] ^= 0xff;
  assert.throws(() => decompressPayload(payload, 'vmlinuz', 0x52cc), /vmlinuz: at offset 0x52cc: bad xz payload: /);
});

test('zstd as the kernel packs it (zstd -22 --ultra) unpacks', { skip: hostHas('zstd') ? false : 'no zstd program on this host' }, () => {
  assert.deepEqual(decompressPayload(hostPayload('zstd', ['-q', '-22', '--ultra', '--stdout'], SAMPLE), 'vmlinuz', 0), SAMPLE);
});
