import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../errors.js';
import { isBzImage, parseBzImageHeader } from './bzimage-header.js';
import { writeBzImage } from '../../../test/support/bzimage-writer.js';

/** A FormatError on one line whose message names `offset` in hex. */
function formatErrorAt(offset: number) {
  return (err: unknown) => err instanceof FormatError && err.message.includes(`0x${offset.toString(16)}`) && !err.message.includes('\n');
}

test('the payload is at (setup_sects + 1) * 512 + payload_offset, for payload_length bytes', () => {
  const image = writeBzImage(Buffer.from('payload!'), { setupSects: 39, payloadOffset: 0x2cc });
  assert.deepEqual(parseBzImageHeader(image, 'bzImage'), { setupSects: 39, protectedModeOffset: 40 * 512, payloadOffset: 40 * 512 + 0x2cc, payloadLength: 8 });
});

test('setup_sects 0 means 4, as in the boot protocol', () => {
  const header = parseBzImageHeader(writeBzImage(Buffer.from('x'), { setupSects: 0, payloadOffset: 0 }), 'bzImage');
  assert.equal(header.setupSects, 4);
  assert.equal(header.payloadOffset, 5 * 512);
});

test('isBzImage looks for "HdrS" at 0x202, and is false for an ELF or a short file', () => {
  assert.equal(isBzImage(writeBzImage(Buffer.from('x'))), true);
  assert.equal(isBzImage(Buffer.from('\x7fELF\x02\x01\x01', 'latin1')), false);
  assert.equal(isBzImage(Buffer.alloc(0x204)), false);
});

test('a header cut short before payload_length is a FormatError naming where the file ends', () => {
  const cut = writeBzImage(Buffer.from('x')).subarray(0, 0x230);
  assert.throws(() => parseBzImageHeader(cut, 'bzImage'), formatErrorAt(0x230));
});

test('a payload_offset past the end of the file is a FormatError naming the field at 0x248', () => {
  const image = writeBzImage(Buffer.from('payload'));
  image.writeUInt32LE(0x100000, 0x248);
  assert.throws(() => parseBzImageHeader(image, 'bzImage'), formatErrorAt(0x248));
});

test('a payload_length past the end of the file, or 0, is a FormatError', () => {
  const long = writeBzImage(Buffer.from('payload'));
  long.writeUInt32LE(0xffffffff, 0x24c);
  assert.throws(() => parseBzImageHeader(long, 'bzImage'), formatErrorAt(0x248));
  const empty = writeBzImage(Buffer.from('payload'));
  empty.writeUInt32LE(0, 0x24c);
  assert.throws(() => parseBzImageHeader(empty, 'bzImage'), formatErrorAt(0x24c));
});

test('a file without "HdrS" is not a bzImage', () => {
  assert.throws(() => parseBzImageHeader(Buffer.alloc(0x1000), 'some.bin'), /some\.bin: at offset 0x202: not an x86 bzImage/);
});
