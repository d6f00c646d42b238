import { KdiveError } from '../../errors.js';
import type { ElfFile } from '../../symbols/elf/elf-file.js';
import type { SymbolTable } from '../../symbols/elf/symbol-table.js';

/** What KASLR discovery needs of the kernel image: its symbols and its bytes at link addresses. */
export interface KernelImage {
  readonly vmlinuxPath: string;
  readonly table: SymbolTable;
  readonly elf: ElfFile;
}

/** What it needs of the target: memory, and (to let an early kernel boot on) resume and interrupt. */
export interface KaslrTarget {
  readMemory(address: bigint, length: number): Promise<Buffer>;
  resume(): Promise<void>;
  interrupt(): Promise<{ reason: string }>;
}

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
export async function slideFromIdt(readMemory: (address: bigint, length: number) => Promise<Buffer>, symbols: KernelImage): Promise<bigint> {
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
 * With KASLR on, lets the kernel boot (interrupting it every few hundred ms) until its IDT gives
 * the slide. Functions that run before trap_init cannot be caught this way: boot without KASLR for those.
 */
export async function discoverSlide(target: KaslrTarget, image: KernelImage, timeoutMs = 180_000): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let wait = 50; Date.now() < deadline; wait = Math.min(wait * 2, 400)) {
    await target.resume();
    await new Promise((r) => setTimeout(r, wait));
    const stop = await target.interrupt();
    if (stop.reason === 'exited' || stop.reason === 'terminated') throw new KdiveError('the guest ended before its kernel could be located');
    try {
      return await slideFromIdt((a, n) => target.readMemory(a, n), image);
    } catch (err) {
      if (err instanceof KdiveError && /linux_banner differs/.test(err.message)) throw err;
      last = err;
    }
  }
  throw new KdiveError(`could not locate the kernel (KASLR) within ${timeoutMs / 1000} s: ${last instanceof Error ? last.message : String(last)}`);
}

/**
 * Where a kernel that is already stopped sits (`kdive debug --attach`): slide 0 when its
 * `linux_banner` is where the vmlinux puts it, else the slide its IDT gives. When neither works
 * (a kernel still decompressing, halted at reset, or not this vmlinux's), `note` says why and
 * that addresses are taken at their link addresses: said, never a silent 0.
 */
export async function locateStoppedKernel(readMemory: (address: bigint, length: number) => Promise<Buffer>, image: KernelImage): Promise<{ slide: bigint; note?: string }> {
  const banner = image.table.lookup('linux_banner')[0]?.address;
  if (banner === undefined) return { slide: 0n, note: `${image.vmlinuxPath} has no linux_banner: kdive cannot tell where the running kernel is (KASLR); addresses are taken at the vmlinux's link addresses` };
  const expected = await image.elf.readVirtual(banner, 64);
  let atLink: string;
  try {
    if ((await readMemory(banner, 64)).equals(expected)) return { slide: 0n };
    atLink = `linux_banner is not at its link address 0x${banner.toString(16)}`;
  } catch (err) {
    // Unmapped at its link address: the expected sign of KASLR; the IDT says where it went.
    atLink = `0x${banner.toString(16)} (linux_banner's link address) cannot be read (${err instanceof Error ? err.message : String(err)})`;
  }
  try {
    return { slide: await slideFromIdt(readMemory, image) };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { slide: 0n, note: `cannot locate the running kernel yet: ${atLink}, and the KASLR slide could not be read from its IDT (${why}); addresses are taken at the vmlinux's link addresses. Is ${image.vmlinuxPath} this kernel's vmlinux, and has it finished decompressing?` };
  }
}
