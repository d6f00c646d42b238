import { Option } from 'commander';
import type { KernelArtifacts } from '../../kernels/index.js';
import type { ProgressReporter } from '../../progress/progress.js';
import { KernelSymbols } from '../../session/kernel-symbols.js';

/** `--no-debuginfo`: fetch only the kernel package, and debug from the image's BTF, kallsyms and ORC. */
export function noDebugInfoOption(): Option {
  return new Option('--no-debuginfo', "no -dbg package: debug from the kernel image's own BTF, kallsyms and ORC (no line numbers, no locals)");
}

/**
 * The kernel's symbols for a session: its vmlinux, else the bzImage itself (kdive extracts the
 * stripped vmlinux inside it); without debug info wanted, DWARF is left unread even when present.
 */
export function openKernelSymbols(kernel: KernelArtifacts, debuginfo: boolean | undefined, progress: ProgressReporter): Promise<KernelSymbols> {
  return KernelSymbols.open(kernel.vmlinux ?? kernel.bzImage, progress, { dwarf: debuginfo !== false });
}
