import { KdiveError } from '../errors.js';
import type { CValue } from '../expr/c-value.js';
import type { Expr } from '../expr/c-expression-parser.js';

/** What the kernel's convenience functions need from a session. */
export interface ConvenienceContext {
  perCpuOffset(cpu: number): Promise<bigint>;
  /** The task on CPU `cpu`, or on the selected CPU when undefined. */
  currentTask(cpu: number | undefined): Promise<bigint>;
  /** Evaluates an expression in the same scope (for typed results). */
  evaluate(text: string): Promise<CValue>;
}

/**
 * The functions expressions may call: kdive's `$percpu(var, cpu)`, the kernel's own spelling
 * `per_cpu(var, cpu)`, and scripts/gdb's `$lx_per_cpu("var", cpu)` and `$lx_current([cpu])`, so
 * commands from kernel docs and gdb habits work as they are. Undefined for other names.
 */
export async function callConvenienceFunction(name: string, args: CValue[], exprs: Expr[], ctx: ConvenienceContext): Promise<CValue | undefined> {
  switch (name) {
    case '$percpu':
    case 'per_cpu':
    case '$lx_per_cpu': {
      // scripts/gdb passes the variable's name as a string.
      const named = exprs[0]?.kind === 'string' ? await ctx.evaluate(exprs[0].value) : args[0];
      if (!named || named.address === undefined || args.length < 2) throw new KdiveError(`usage: ${name}(per_cpu_variable, cpu)`);
      const offset = await ctx.perCpuOffset(cpuNumber(args[1]!, name));
      return { type: named.type, address: named.address + offset };
    }
    case '$lx_current': {
      const task = await ctx.currentTask(args.length ? cpuNumber(args[0]!, name) : undefined);
      return ctx.evaluate(`(struct task_struct *)0x${task.toString(16)}`);
    }
    default:
      return undefined;
  }
}

function cpuNumber(v: CValue, fn: string): number {
  if (!v.bytes) throw new KdiveError(`${fn}: the CPU number must be an integer`);
  return v.bytes.readUInt32LE(0);
}
