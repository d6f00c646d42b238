import { KdiveError, NotFoundError } from '../../errors.js';
import { readU64, requireSymbol, type KernelView } from './kernel-view.js';

/**
 * Per-CPU data (arch/x86/include/asm/percpu.h, arch/x86/kernel/setup_percpu.c): a per-CPU
 * variable's address on CPU n is `__per_cpu_offset[n]` plus its (zero-based) symbol value.
 */
export async function perCpuOffset(view: KernelView, cpu: number): Promise<bigint> {
  return readU64(view, requireSymbol(view, '__per_cpu_offset') + BigInt(cpu * 8));
}

/**
 * The task a stopped CPU runs (arch/x86/include/asm/current.h): `current_task` (6.1; `pcpu_hot`
 * 6.2-6.14) in the per-CPU area the CPU's GS base points to. In user mode the kernel's base sits
 * in KERNEL_GS_BASE (swapgs has not run yet); `this_cpu_off` holding the base itself confirms it.
 */
/** The task CPU `cpu` runs, from its own per-CPU area (what scripts/gdb's `$lx_current(cpu)` reads). */
export async function currentTaskOf(view: KernelView, cpu: number): Promise<bigint> {
  const currentSlot = view.symbol('current_task') ?? view.symbol('pcpu_hot');
  if (currentSlot === undefined) throw new NotFoundError('this kernel has neither current_task nor pcpu_hot');
  return readU64(view, (await perCpuOffset(view, cpu)) + currentSlot);
}

export async function currentTask(view: KernelView, registers: { gs_base?: bigint; k_gs_base?: bigint; cs?: bigint }): Promise<bigint> {
  const currentSlot = view.symbol('current_task') ?? view.symbol('pcpu_hot');
  if (currentSlot === undefined) throw new NotFoundError('this kernel has neither current_task nor pcpu_hot');
  const self = view.symbol('this_cpu_off');
  const user = ((registers.cs ?? 0n) & 3n) !== 0n;
  const candidates = (user ? [registers.k_gs_base, registers.gs_base] : [registers.gs_base, registers.k_gs_base]).filter((b): b is bigint => b !== undefined && b !== 0n);
  for (const base of candidates) {
    // A candidate base that is not mapped is not the per-CPU area: skip it like one that does not point at itself.
    if (self !== undefined && (await readU64(view, base + self).catch(() => undefined)) !== base) continue;
    return readU64(view, base + currentSlot);
  }
  throw new KdiveError("cannot find this CPU's per-CPU area (neither GS base register points at it)");
}
