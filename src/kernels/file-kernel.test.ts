import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '../errors.js';
import { elfHeaderProblem } from './elf-header-check.js';
import { bzImageVersion, bzImageVersionText, checkVmlinux, resolveFileKernel } from './file-kernel.js';
import { scratchDir } from '../../test/support/own-resources.js';

const VERSION = '6.9.0-kdive (me@host) #3 SMP';

/** A minimal bzImage-shaped file: "HdrS" at 0x202 and kernel_version (string offset - 0x200) at 0x20e. */
function fakeBzImage(versionAt = 0x3c0, text = VERSION): Buffer {
  const b = Buffer.alloc(0x800);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(versionAt - 0x200, 0x20e);
  b.write(`${text}\0`, versionAt, 'latin1');
  return b;
}

/** A 64-byte x86-64 ELF header with section headers at shoff (count shnum, 64 bytes each). */
function elfHeader(shoff: number, shnum: number): Buffer {
  const h = Buffer.alloc(64);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = 2;
  h[5] = 1;
  h[6] = 1;
  h.writeUInt16LE(2, 16);
  h.writeUInt16LE(62, 18);
  h.writeBigUInt64LE(BigInt(shoff), 40);
  h.writeUInt16LE(64, 58);
  h.writeUInt16LE(shnum, 60);
  return h;
}

test('bzImage: version read through the kernel_version pointer; a non-bzImage is a FormatError at 0x202', async () => {
  const dir = scratchDir('kdive-bz-');
  try {
    const bz = path.join(dir, 'bzImage');
    await writeFile(bz, fakeBzImage());
    assert.equal(await bzImageVersionText(bz), VERSION);
    assert.equal(await bzImageVersion(bz), '6.9.0-kdive');
    // A different pointer moves the string: the reader follows it rather than guessing.
    await writeFile(bz, fakeBzImage(0x600, '5.10.0-x #1'));
    assert.equal(await bzImageVersion(bz), '5.10.0-x');

    const notBz = path.join(dir, 'notbz');
    await writeFile(notBz, Buffer.alloc(0x800));
    await assert.rejects(bzImageVersion(notBz), (e: unknown) => e instanceof FormatError && e.offset === 0x202 && e.message.includes(notBz));
    await writeFile(notBz, Buffer.from('HdrS'));
    await assert.rejects(bzImageVersion(notBz), /not an x86 bzImage/);

    const vmlinux = path.join(dir, 'vmlinux');
    await writeFile(vmlinux, Buffer.concat([elfHeader(64, 2), Buffer.alloc(128)]));
    const k = await resolveFileKernel(bz, vmlinux);
    assert.deepEqual(k, { spec: bz, version: '5.10.0-x', bzImage: bz, vmlinux });
    await assert.rejects(resolveFileKernel(bz, bz), /not a usable vmlinux: expected the ELF magic/);
    await assert.rejects(resolveFileKernel(bz, path.join(dir, 'missing')), /cannot open --vmlinux/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ELF header check: class, byte order, machine, and section headers inside the file', async () => {
  const good = elfHeader(1000, 10);
  assert.equal(elfHeaderProblem(good, 1000 + 640), undefined);
  assert.match(elfHeaderProblem(good, 1000 + 639)!.expected, /truncated/);
  assert.equal(elfHeaderProblem(good.subarray(0, 40), 40)!.offset, 40);
  const cls32 = Buffer.from(good);
  cls32[4] = 1;
  assert.deepEqual(elfHeaderProblem(cls32, 5000), { offset: 4, expected: 'ELFCLASS64 (2)' });
  const be = Buffer.from(good);
  be[5] = 2;
  assert.equal(elfHeaderProblem(be, 5000)!.offset, 5);
  const arm = Buffer.from(good);
  arm.writeUInt16LE(183, 18);
  assert.match(elfHeaderProblem(arm, 5000)!.expected, /x86-64 \(e_machine 62\), not 183/);
  const rel = Buffer.from(good);
  rel.writeUInt16LE(1, 16);
  assert.equal(elfHeaderProblem(rel, 5000)!.offset, 16);
  const dir = scratchDir('kdive-elf-');
  try {
    const cut = path.join(dir, 'vmlinux');
    await writeFile(cut, Buffer.concat([good, Buffer.alloc(100)]));
    await assert.rejects(checkVmlinux(cut), (e: unknown) => e instanceof FormatError && e.offset === 40 && /truncated/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
