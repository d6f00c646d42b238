import { listModules, type ModuleInfo } from './modules.js';
import { formatDmesg, readPrintkRing, type PrintkRecord } from './printk.js';
import { translate, type Translation } from './page-tables.js';
import { listTasks, type TaskInfo } from './tasks.js';
import { readUname, type Uname } from './uname.js';
import type { KernelView } from './kernel-view.js';

/** Linux awareness over one kernel view: what `ps`, `dmesg`, `lsmod`, `uname` and `vtop` show. */
export class LinuxKernel {
  constructor(readonly view: KernelView) {}

  tasks(): Promise<TaskInfo[]> {
    return listTasks(this.view);
  }

  dmesg(): Promise<PrintkRecord[]> {
    return readPrintkRing(this.view);
  }

  async dmesgLines(): Promise<string[]> {
    return formatDmesg(await this.dmesg());
  }

  modules(): Promise<ModuleInfo[]> {
    return listModules(this.view);
  }

  uname(): Promise<Uname> {
    return readUname(this.view);
  }

  /** A virtual address to physical, through the page tables CR3 points to (CR4.LA57: five levels). */
  vtop(va: bigint, cr3: bigint, cr4: bigint): Promise<Translation> {
    return translate(this.view, va, cr3, ((cr4 >> 12n) & 1n) === 1n);
  }
}

export type { TaskInfo, PrintkRecord, ModuleInfo, Uname, Translation };
