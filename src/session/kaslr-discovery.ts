import { KdiveError } from '../errors.js';
import type { KernelSymbols } from './kernel-symbols.js';

/** The read-only IDT in the cpu_entry_area: a fixed address in 6.1, mapped once trap_init has run. */
const CEA_RO_IDT = 0xfffffe0000000000n;
/** KASLR moves the kernel image in CONFIG_PHYSICAL_ALIGN steps. */
const SLIDE_ALIGN = 0x200000n;

/** The handler address an x86-64 interrupt gate points to (struct gate_struct). */
function gateTarget(idt: Buffer, vector: number): bigint {
  const g = vector * 16;
  return BigInt(idt.readUInt16LE(g)) | (BigInt(idt.readUInt16LE(g + 6)) << 16n) | (BigInt(idt.readUInt32LE(g + 8)) << 32n);
}

/**
 * The KASLR slide of a running kernel, from its IDT: gate 0 points to asm_exc_divide_error and
 * gate 14 to asm_exc_page_fault at their link addresses plus the slide; `linux_banner` at its
 * slid address must then hold the vmlinux's own text, which also proves the vmlinux matches.
 * Throws while the kernel is too early in its boot to have the IDT mapped.
 */
export async function slideFromIdt(readMemory: (address: bigint, length: number) => Promise<Buffer>, symbols: KernelSymbols): Promise<bigint> {
  const link = (name: string) => symbols.table.lookup(name)[0]?.address;
  const divide = link('asm_exc_divide_error');
  const pageFault = link('asm_exc_page_fault');
  const banner = link('linux_banner');
  if (divide === undefined || pageFault === undefined || banner === undefined) {
    throw new KdiveError(`${symbols.vmlinuxPath} lacks asm_exc_divide_error, asm_exc_page_fault or linux_banner: cannot find the KASLR slide`);
  }
  let idt: Buffer;
  try {
    idt = await readMemory(CEA_RO_IDT, 15 * 16);
  } catch {
    throw new KdiveError('the kernel has not mapped its IDT yet');
  }
  const slide = gateTarget(idt, 0) - divide;
  if (gateTarget(idt, 14) - pageFault !== slide || slide % SLIDE_ALIGN !== 0n || slide < 0n || slide >= 0x40000000n) {
    throw new KdiveError('the IDT does not point into this kernel yet');
  }
  const expected = await symbols.elf.readVirtual(banner, 64);
  // Under a wrong slide the banner's address may be unmapped: that rejects the slide as a mismatch does.
  const live = await readMemory(banner + slide, 64).catch(() => undefined);
  if (!live || !live.equals(expected)) {
    throw new KdiveError(`the running kernel's linux_banner differs from ${symbols.vmlinuxPath}'s: is it the vmlinux of this kernel?`);
  }
  return slide;
}

/**
 * The slide of a kernel found stopped (`kdive debug --attach`): 0 when `linux_banner` is where the
 * vmlinux puts it, else read from the IDT. A slide that cannot be found is an error that says why,
 * not a slide of 0 taken on trust (every address would then be wrong without a word). Meant to
 * replace Session.locateStoppedKernel's body: `this.symbols.slide = await locateStoppedKernelSlide(...)`.
 */
export async function locateStoppedKernelSlide(readMemory: (address: bigint, length: number) => Promise<Buffer>, symbols: KernelSymbols): Promise<bigint> {
  const banner = symbols.table.lookup('linux_banner')[0]?.address;
  if (banner === undefined) throw new KdiveError(`${symbols.vmlinuxPath} has no linux_banner: kdive cannot tell where the running kernel is (KASLR)`);
  const expected = await symbols.elf.readVirtual(banner, 64);
  let atLink: string;
  try {
    if ((await readMemory(banner, 64)).equals(expected)) return 0n;
    atLink = `linux_banner is not at its link address 0x${banner.toString(16)}`;
  } catch (err) {
    // Unmapped at its link address: the expected sign of KASLR; the IDT says where it went.
    atLink = `0x${banner.toString(16)} (linux_banner's link address) cannot be read (${err instanceof Error ? err.message : String(err)})`;
  }
  try {
    return await slideFromIdt(readMemory, symbols);
  } catch (err) {
    throw new KdiveError(`cannot locate the running kernel: ${atLink}, and the KASLR slide could not be read from its IDT (${err instanceof Error ? err.message : String(err)}). Is ${symbols.vmlinuxPath} this kernel's vmlinux, and has the kernel finished decompressing?`);
  }
}
