import type { Arch } from '../arch/arch.js';
import { KdiveError } from '../errors.js';
import type { EvaluatedValue } from '../expr/evaluated-value.js';
import type { ExpressionEngine, ExpressionScope } from '../expr/expression-engine.js';
import type { PrintFormat } from '../expr/value-printer.js';
import { currentTask, currentTaskOf, perCpuOffset } from '../os/linux/percpu.js';
import { callConvenienceFunction } from './convenience-functions.js';
import type { Program } from './program.js';
import type { StackService } from './stack-service.js';

export interface FrameSelection {
  frame?: number;
  threadId?: string;
  /** The kernel runs (a resume is in progress): memory only, from the RAM kdive shares with the VM. */
  running?: boolean;
}

/** C expressions over the kernel's types in a frame of a stopped CPU, as gdb's print, whatis and ptype. */
export class EvaluationService {
  constructor(
    private readonly program: Program,
    private readonly stack: StackService,
    private readonly arch: Arch,
  ) {}

  /**
   * Evaluates a C expression (members, `->`, `*`, `&`, `[]`, casts, arithmetic, `$rip`, `sizeof`)
   * in a frame of the selected thread (frame 0 by default), as gdb's `print` would.
   */
  async evaluate(expression: string, opts: FrameSelection & { format?: PrintFormat } = {}): Promise<EvaluatedValue> {
    const { engine, scope } = await this.expressionScope(opts);
    return engine.describe(await engine.evaluate(expression, scope), scope, opts.format);
  }

  /** gdb's `print[/FMT]`: the value numbered `$N` in the session's value history. */
  async print(expression: string, opts: FrameSelection & { format?: PrintFormat } = {}): Promise<{ number: number; text: string; value: EvaluatedValue }> {
    const { engine, scope } = await this.expressionScope(opts);
    return engine.print(expression, scope, opts.format);
  }

  /** gdb's whatis and ptype. */
  async describeType(expression: string, opts: FrameSelection & { expand?: boolean } = {}): Promise<string> {
    const { engine, scope } = await this.expressionScope(opts);
    return opts.expand ? engine.ptype(expression, scope) : engine.whatis(expression, scope);
  }

  /** The expression engine and what it may read in one frame of one thread. */
  async expressionScope(opts: FrameSelection = {}): Promise<{ engine: ExpressionEngine; scope: ExpressionScope }> {
    const engine = this.program.engine();
    if (opts.running || this.program.target.running) return { engine, scope: this.runningScope() };
    const tid = this.program.threadFor(opts.threadId);
    const regs = await this.program.registers(tid);
    const frame = await this.stack.frameState(tid, opts.frame ?? 0);
    const dwarfNumber = new Map(this.arch.dwarfRegisterNames.map((n, i) => [n, i]));
    const scope: ExpressionScope = {
      readMemory: (a, n) => this.program.readMemory(a, n),
      // Frame 0 sees every register; callers only what the unwinder recovered.
      readRegister: (name) => {
        if ((opts.frame ?? 0) === 0) return regs.get(name);
        const regno = dwarfNumber.get(name);
        return regno === undefined ? undefined : frame.registers.get(regno);
      },
      frame: { lookupPc: frame.lookupPc, context: frame.context },
      identifier: async (name) => (name === 'current' ? { value: await this.currentTask(tid), type: 'struct task_struct *' } : undefined),
      call: (name, args, exprs) =>
        callConvenienceFunction(name, args, exprs, {
          perCpuOffset: (cpu) => this.perCpuOffset(cpu),
          currentTask: (cpu) => (cpu === undefined ? this.currentTask(tid) : currentTaskOf(this.program.linux.view, cpu)),
          evaluate: (text) => engine.evaluate(text, scope),
        }),
    };
    return { engine, scope };
  }

  /**
   * While the kernel runs: memory only (the RAM kdive shares with a VM it booted), no registers,
   * no frame, no `current` (which CPU would it be?). Globals and what they point to can be read.
   */
  private runningScope(): ExpressionScope {
    const stopped = (what: string) => new KdiveError(`the kernel is running: ${what} needs a stopped CPU (interrupt it first)`);
    const engine = this.program.engine();
    const scope: ExpressionScope = {
      // Without shared RAM, a read would go to the stub, which answers nothing until the kernel stops.
      readMemory: async (a, n) => {
        const direct = this.program.target.directMemory;
        if (!direct) throw new KdiveError('the kernel is running: its memory can be read while it runs only from the RAM kdive shares with a VM it booted (interrupt it first)');
        // Through the page tables of the last stop: the stub is not asked while the kernel runs.
        const bytes = await direct.read(a, n, true);
        if (!bytes) throw new KdiveError(`Cannot access memory at address 0x${a.toString(16)} while the kernel runs (not in its RAM, or not mapped at the last stop)`);
        return bytes;
      },
      readRegister: (name) => {
        throw stopped(`$${name}`);
      },
      identifier: async (name) => {
        if (name === 'current') throw stopped('current');
        return undefined;
      },
      // `$percpu(var, cpu)` reads memory only; `$lx_current()` needs the CPU's registers.
      call: (name, args, exprs) =>
        callConvenienceFunction(name, args, exprs, {
          perCpuOffset: (cpu) => this.perCpuOffset(cpu),
          currentTask: (cpu) => (cpu === undefined ? Promise.reject(stopped('the current task')) : currentTaskOf(this.program.linux.view, cpu)),
          evaluate: (text) => engine.evaluate(text, scope),
        }),
    };
    return scope;
  }

  /** The per-CPU area of a CPU: `__per_cpu_offset[cpu]`. */
  perCpuOffset(cpu: number): Promise<bigint> {
    return perCpuOffset(this.program.linux.view, cpu);
  }

  /** The task running on a stopped CPU (`current`). */
  async currentTask(threadId?: string): Promise<bigint> {
    return currentTask(this.program.linux.view, this.arch.perCpuRegisters(await this.program.registers(threadId)));
  }

  /** The integer argument registers, as they are at a function's first instruction. */
  async argumentRegisters(threadId?: string): Promise<{ name: string; value: bigint }[]> {
    const regs = await this.program.registers(threadId);
    return this.arch.argumentRegisters.map((name) => ({ name, value: regs.get(name) ?? 0n }));
  }
}
