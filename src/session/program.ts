import type { Arch } from '../arch/arch.js';
import { X86_64 } from '../arch/x86_64/x86-64-arch.js';
import { KdiveError } from '../errors.js';
import { ExpressionEngine } from '../expr/expression-engine.js';
import { KernelTypes } from '../os/linux/kernel-view.js';
import { LinuxKernel } from '../os/linux/linux-kernel.js';
import { ModuleSymbols } from '../os/linux/module-symbols.js';
import { readModuleBtf } from '../os/linux/module-btf.js';
import { BtfProgramTypes } from '../expr/btf-program-types.js';
import { BtfFile } from '../symbols/btf/index.js';
import type { RegisterValues, Target } from '../target/target.js';
import type { QemuInstance } from '../vm/index.js';
import { BreakpointTable } from './breakpoints.js';
import { sessionEngineSymbols } from './expression-scope.js';
import type { KernelSymbols } from './kernel-symbols.js';
import { RunControl } from './run-control.js';

/**
 * One debugged kernel as the services see it (drgn's Program, delve's proc.Target): the target,
 * the symbols at run-time addresses (the KASLR slide inside KernelSymbols), the OS layer, what is
 * inserted in the guest, and the caches of one stop, dropped when the target moves.
 */
export class Program {
  readonly breakpoints = new BreakpointTable();
  readonly run: RunControl;
  /** The thread (vCPU under QEMU, task under kgdb) that commands act on: the one that last stopped. */
  selectedThread: string | undefined;

  constructor(
    readonly target: Target,
    readonly symbols: KernelSymbols,
    readonly vm: QemuInstance | undefined,
    /** The guest console when it does not come through QEMU's stdout (kgdb: the demultiplexed serial line). */
    readonly consoleText?: () => string,
    readonly arch: Arch = X86_64,
  ) {
    this.run = new RunControl(target, this.breakpoints, arch);
  }

  /** The thread a command acts on: the one asked for, else the selected one, else the last to stop. */
  threadFor(threadId: string | undefined): string {
    return threadId ?? this.selectedThread ?? this.run.lastStop?.threadId ?? '01';
  }

  registers(threadId?: string): Promise<RegisterValues> {
    return this.target.readRegisters(threadId);
  }

  readMemory(address: bigint, length: number): Promise<Buffer> {
    return this.target.readMemory(address, length);
  }

  /** Set by the execution service while a resume or step is in progress (the kernel may be running). */
  moving = false;

  /**
   * Kernel memory as the kernel helpers read it: while a resume is in progress, from the RAM kdive
   * shares with QEMU through the page tables of the last stop (kernel mappings are the same in every
   * address space), never through the stub, which answers nothing while the kernel runs.
   */
  async readKernelMemory(address: bigint, length: number): Promise<Buffer> {
    if (this.moving && this.target.directMemory) {
      const direct = await this.target.directMemory.read(address, length, true);
      if (direct) return direct;
    }
    return this.target.readMemory(address, length);
  }

  async readU64(address: bigint): Promise<bigint> {
    return (await this.target.readMemory(address, 8)).readBigUInt64LE(0);
  }

  private modulesAtStop: { stop: number; modules: Promise<ModuleSymbols | undefined> } | undefined;

  /** The modules at this stop, read from the kernel once per stop (undefined without types, or before the kernel is up). */
  loadedModules(): Promise<ModuleSymbols | undefined> {
    if (!this.symbols.types()) return Promise.resolve(undefined);
    if (this.modulesAtStop?.stop !== this.run.stopCount) {
      // Before the kernel has set up its module list (or over a target that cannot read it) there are no modules to name.
      this.modulesAtStop = { stop: this.run.stopCount, modules: ModuleSymbols.read(this.linux.view, this.symbols.orc?.format).catch(() => undefined) };
    }
    return this.modulesAtStop.modules;
  }

  private readonly moduleBtf = new Map<string, Promise<BtfProgramTypes | undefined>>();

  /**
   * A loaded module's types from its split BTF over the kernel's, read from the kernel's own copy
   * (without DWARF: the prototypes of module functions). Kept while the program lives: a module that
   * is unloaded and loaded again gets the same types from the same build.
   */
  moduleTypes(moduleName: string): Promise<BtfProgramTypes | undefined> {
    const base = this.symbols.btf;
    if (!base) return Promise.resolve(undefined);
    let p = this.moduleBtf.get(moduleName);
    if (!p) {
      // A module whose BTF cannot be read has no prototypes: its frames show no arguments.
      p = readModuleBtf(this.linux.view, moduleName)
        .then((bytes) => (bytes ? new BtfProgramTypes(BtfFile.parse(bytes, `${moduleName} (BTF in guest memory)`, base)) : undefined))
        .catch(() => undefined); // a module whose BTF cannot be read has no prototypes: its frames show no arguments
      this.moduleBtf.set(moduleName, p);
    }
    return p;
  }

  private expressionEngine: ExpressionEngine | undefined;

  /** The expression engine over the kernel's DWARF or BTF (its type cache lives as long as the program). */
  engine(): ExpressionEngine {
    const types = this.symbols.types();
    if (!types) throw new KdiveError(`${this.symbols.vmlinuxPath} has neither DWARF nor BTF: expressions need types`);
    this.expressionEngine ??= new ExpressionEngine(types, sessionEngineSymbols(this.symbols));
    return this.expressionEngine;
  }

  private linuxKernel: LinuxKernel | undefined;

  /** Linux awareness (tasks, dmesg, modules, uname, page tables) over this kernel. */
  get linux(): LinuxKernel {
    const engine = this.engine();
    const names = sessionEngineSymbols(this.symbols);
    this.linuxKernel ??= new LinuxKernel({
      read: (a, n) => this.readKernelMemory(a, n),
      symbol: (name) => names.addressOf(name),
      types: new KernelTypes(engine.program),
    });
    return this.linuxKernel;
  }

  /** The line-table row at a run-time pc, in run-time addresses. */
  async lineAt(pc: bigint): Promise<{ file: string; shortFile: string; line: number; start: bigint; end: bigint } | undefined> {
    // No DWARF for that address (assembly, a module): no line, which callers treat as "no source here".
    const l = await this.symbols.dwarf?.lineFor(pc - this.symbols.slide).catch(() => undefined);
    return l && { file: l.file, shortFile: l.shortFile, line: l.line, start: l.start + this.symbols.slide, end: l.end + this.symbols.slide };
  }
}
