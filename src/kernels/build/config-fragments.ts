/**
 * Named configuration fragments for `kdive kernel build --fragment NAME`: a base config target
 * and the options switched on or off on top of it (scripts/config), as data.
 */
export interface ConfigFragment {
  base: 'tinyconfig' | 'defconfig';
  enable: string[];
  disable: string[];
}

/** What an initramfs with busybox on a serial console needs, and a debuggable kernel. */
const BOOTABLE = ['64BIT', 'PRINTK', 'TTY', 'SERIAL_8250', 'SERIAL_8250_CONSOLE', 'BLK_DEV_INITRD', 'RD_GZIP', 'BINFMT_ELF', 'BINFMT_SCRIPT', 'PROC_FS', 'SYSFS', 'DEVTMPFS', 'MULTIUSER', 'FUTEX', 'EPOLL', 'SHMEM', 'TMPFS', 'SMP', 'PCI', 'ACPI', 'RELOCATABLE', 'PANIC_ON_OOPS', 'PVPANIC', 'NET', 'INET', 'UNIX'];
// UNWINDER_ORC: tinyconfig picks the guess unwinder, with neither ORC tables nor frame pointers
// (scripts/config cannot enable FRAME_POINTER alone: the unwinder choice selects it).
const DEBUGGABLE = ['DEBUG_KERNEL', 'DEBUG_INFO', 'DEBUG_INFO_DWARF5', 'GDB_SCRIPTS', 'UNWINDER_ORC', 'KALLSYMS', 'KALLSYMS_ALL', 'MAGIC_SYSRQ', 'MAGIC_SYSRQ_SERIAL'];

export const CONFIG_FRAGMENTS: Record<string, ConfigFragment> = {
  /** kgdb on the serial console (FACTS.md's recipe: about 8 minutes on 2 cores). */
  kgdb: { base: 'tinyconfig', enable: [...BOOTABLE, ...DEBUGGABLE, 'KGDB', 'KGDB_SERIAL_CONSOLE'], disable: ['DEBUG_INFO_NONE', 'RANDOMIZE_BASE', 'UNWINDER_GUESS', 'UNWINDER_FRAME_POINTER'] },
  /** The same small kernel without kgdb. */
  minimal: { base: 'tinyconfig', enable: [...BOOTABLE, ...DEBUGGABLE], disable: ['DEBUG_INFO_NONE', 'RANDOMIZE_BASE', 'UNWINDER_GUESS', 'UNWINDER_FRAME_POINTER'] },
  /** x86_64 defconfig with debug info and kgdb: a fuller kernel (much longer to build). */
  debug: { base: 'defconfig', enable: [...DEBUGGABLE, 'KGDB', 'KGDB_SERIAL_CONSOLE', 'GDB_SCRIPTS'], disable: ['DEBUG_INFO_NONE', 'RANDOMIZE_BASE'] },
};
