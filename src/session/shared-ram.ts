import type { GdbRemoteTarget } from '../target/gdb-remote/gdb-remote-target.js';
import { GuestMemory } from '../vm/guest-memory.js';
import { GuestRam } from '../vm/guest-ram.js';
import type { ProgressReporter } from '../progress/progress.js';

/**
 * Points the target's memory reads at the RAM of the VM kdive booted (shared with QEMU through a
 * memfd), translated by kdive's own page walk from the stopped CPU's CR3. Returns what closes it.
 * Where the RAM cannot be opened, reads stay on the stub, and the session says so once.
 */
export async function useSharedRam(target: GdbRemoteTarget, qemuPid: number, memoryMiB: number, progress: ProgressReporter): Promise<() => Promise<void>> {
  let ram: GuestRam;
  try {
    ram = await GuestRam.open(qemuPid, memoryMiB * 1024 * 1024);
  } catch (err) {
    progress.note(`memory is read through the gdbstub: ${err instanceof Error ? err.message : String(err)}`);
    return async () => undefined;
  }
  target.directMemory = new GuestMemory(ram, async () => {
    const regs = await target.readRegisters();
    const cr3 = regs.get('cr3');
    // Without CR3 in the register set (not QEMU's full x86-64 description) there is nothing to walk from.
    return cr3 === undefined ? undefined : { cr3, fiveLevel: (((regs.get('cr4') ?? 0n) >> 12n) & 1n) === 1n };
  });
  return () => ram.close();
}
