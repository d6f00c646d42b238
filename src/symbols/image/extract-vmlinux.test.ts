import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../errors.js';
import { ElfFile } from '../elf/index.js';
import { extractVmlinux, isBzImage } from './extract-vmlinux.js';
import { fakeVmlinux, kernelPayload, writeBzImage } from '../../../test/support/bzimage-writer.js';

for (const compression of ['gzip', 'lz4', 'zstd'] as const) {
  test(`the ELF comes out of a ${compression} bzImage whole, sections and all`, async () => {
    const vmlinux = fakeVmlinux();
    const image = writeBzImage(kernelPayload(compression, vmlinux), { setupSects: 39, payloadOffset: 0x2cc });
    assert.equal(isBzImage(image), true);
    const elf = extractVmlinux(image, 'vmlinuz');
    assert.deepEqual(elf, vmlinux);
    const file = await ElfFile.fromBuffer('vmlinuz', elf);
    assert.equal((await file.readSection('.rodata')).toString('latin1', 0, 15), 'kallsyms_names\0');
  });
}

test('a payload that unpacks to something other than an ELF is a FormatError at the payload', () => {
  const notElf = Buffer.from('MZ this is a PE file, not an ELF');
  const image = writeBzImage(kernelPayload('lz4', notElf), { setupSects: 4, payloadOffset: 0x10 });
  assert.throws(() => extractVmlinux(image, 'vmlinuz'), (err: unknown) => err instanceof FormatError && err.message === 'vmlinuz: at offset 0xa10: the payload unpacked to something that is not an ELF file (no \\x7fELF magic)');
});

test('an image cut inside the payload is a FormatError, never a RangeError', () => {
  const image = writeBzImage(kernelPayload('lz4', fakeVmlinux()), { trailer: 0 });
  for (const length of [0x100, 0x203, 0x240, 0xa00, 0xa40, image.length - 1]) {
    assert.throws(() => extractVmlinux(image.subarray(0, length), 'vmlinuz'), FormatError, `cut at ${length}`);
  }
});
