import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locateStoppedKernel, type KernelImage } from './kaslr.js';

const BANNER = 0xffffffff82000000n;
const TEXT = Buffer.from('Linux version 6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 ... '.padEnd(64, ' ').slice(0, 64));
const image = {
  vmlinuxPath: '/tmp/vmlinux',
  table: { lookup: (name: string) => ({ linux_banner: [{ address: BANNER }], asm_exc_divide_error: [{ address: 0xffffffff81a00000n }], asm_exc_page_fault: [{ address: 0xffffffff81a00100n }] })[name] ?? [] },
  elf: { readVirtual: async () => TEXT },
} as unknown as KernelImage;

test('attach: slide 0 only when the banner is where the vmlinux says; a slide that cannot be found is said, with why, never a silent 0', async () => {
  assert.deepEqual(await locateStoppedKernel(async (a, n) => (a === BANNER ? TEXT : Buffer.alloc(n)), image), { slide: 0n });
  const unreadable = await locateStoppedKernel(async (a) => { throw new Error(`E14 reading 0x${a.toString(16)}`); }, image);
  assert.equal(unreadable.slide, 0n);
  assert.match(unreadable.note ?? '', /^cannot locate the running kernel yet: 0xffffffff82000000 \(linux_banner's link address\) cannot be read \(E14 reading 0xffffffff82000000\), and the KASLR slide could not be read from its IDT \(the kernel has not mapped its IDT yet\); addresses are taken at the vmlinux's link addresses\. Is \/tmp\/vmlinux this kernel's vmlinux/);
  const elsewhere = await locateStoppedKernel(async (_a, n) => Buffer.alloc(n, 0x41), image);
  assert.match(elsewhere.note ?? '', /linux_banner is not at its link address 0xffffffff82000000, and the KASLR slide could not be read from its IDT \(the IDT does not point into this kernel yet\)/);
});

test('a slide the IDT gives is taken when the banner there matches the vmlinux', async () => {
  const slide = 0x1e00000n;
  const idt = Buffer.alloc(15 * 16);
  const gate = (v: number, target: bigint) => {
    idt.writeUInt16LE(Number(target & 0xffffn), v * 16);
    idt.writeUInt16LE(Number((target >> 16n) & 0xffffn), v * 16 + 6);
    idt.writeUInt32LE(Number(target >> 32n), v * 16 + 8);
  };
  gate(0, 0xffffffff81a00000n + slide);
  gate(14, 0xffffffff81a00100n + slide);
  const read = async (a: bigint, n: number) => (a === 0xfffffe0000000000n ? idt.subarray(0, n) : a === BANNER + slide ? TEXT : Buffer.alloc(n));
  assert.deepEqual(await locateStoppedKernel(read, image), { slide });
});
