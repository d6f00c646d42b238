import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KernelSymbols } from './kernel-symbols.js';
import { locateStoppedKernelSlide } from './kaslr-discovery.js';

const BANNER = 0xffffffff82000000n;
const TEXT = Buffer.from('Linux version 6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 ... '.padEnd(64, ' ').slice(0, 64));
const symbols = {
  vmlinuxPath: '/tmp/vmlinux',
  table: { lookup: (name: string) => ({ linux_banner: [{ address: BANNER }], asm_exc_divide_error: [{ address: 0xffffffff81a00000n }], asm_exc_page_fault: [{ address: 0xffffffff81a00100n }] })[name] ?? [] },
  elf: { readVirtual: async () => TEXT },
} as unknown as KernelSymbols;

test('attach: slide 0 only when the banner is where the vmlinux says; a slide that cannot be found is an error saying why, never a silent 0', async () => {
  assert.equal(await locateStoppedKernelSlide(async (a, n) => (a === BANNER ? TEXT : Buffer.alloc(n)), symbols), 0n);
  await assert.rejects(
    locateStoppedKernelSlide(async (a) => { throw new Error(`E14 reading 0x${a.toString(16)}`); }, symbols),
    /^KdiveError: cannot locate the running kernel: 0xffffffff82000000 \(linux_banner's link address\) cannot be read \(E14 reading 0xffffffff82000000\), and the KASLR slide could not be read from its IDT \(the kernel has not mapped its IDT yet\)\. Is \/tmp\/vmlinux this kernel's vmlinux/,
  );
  await assert.rejects(locateStoppedKernelSlide(async (_a, n) => Buffer.alloc(n, 0x41), symbols), /linux_banner is not at its link address 0xffffffff82000000, and the KASLR slide could not be read from its IDT \(the IDT does not point into this kernel yet\)/);
});
