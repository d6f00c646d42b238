import { dwarfRegisters, type Arch } from '../arch/arch.js';
import { KdiveError } from '../errors.js';
import type { ModuleSymbols } from '../os/linux/module-symbols.js';
import { callSiteValues, unwindRegistersWithCfi, type ExpressionContext } from '../symbols/dwarf/index.js';
import type { RegisterValues } from '../target/target.js';
import { isKernelAddress, unwindFramePointers, unwindOrc, type UnwindResult, type UnwoundFrame } from '../unwind/index.js';
import { believablePc } from './believable-pc.js';
import { btfEntryArguments } from './btf-entry-arguments.js';
import { BtfProgramTypes } from '../expr/btf-program-types.js';
import type { Backtrace, Frame } from './frames.js';
import type { Program } from './program.js';

/** One walk of a CPU's stack: its physical frames and the DWARF registers known in each. */
interface PhysicalWalk {
  walk: UnwindResult;
  frameRegs: Map<number, bigint>[];
}

/** What an expression needs of one frame: its pc, the DWARF registers known there, its CFA. */
export interface FrameState {
  pc: bigint;
  lookupPc: bigint;
  registers: Map<number, bigint>;
  cfa?: bigint;
  context: ExpressionContext;
}

/**
 * Stacks: one walk (ORC, or frame pointers for kernels without ORC; module code with the
 * module's own ORC table) that the backtrace and the frames of expressions both use, caller
 * registers recovered through .debug_frame, inlined frames from DWARF, entry values from call sites.
 */
export class StackService {
  constructor(
    private readonly program: Program,
    private readonly arch: Arch,
  ) {}

  /** The last walk, kept for the stop it was made at: a stop's banner, `bt` and `frame N` walk once. */
  private lastWalk: { stop: number; threadId: string; maxFrames: number; walk: Promise<PhysicalWalk> } | undefined;

  /** The physical frames of a stopped CPU (at most `maxFrames`), walked once per stop and thread. */
  private async walkOf(threadId: string | undefined, maxFrames: number): Promise<PhysicalWalk> {
    const stop = this.program.run.stopCount;
    const tid = this.program.threadFor(threadId);
    const last = this.lastWalk;
    if (last && last.stop === stop && last.threadId === tid && last.maxFrames >= maxFrames) {
      const { walk, frameRegs } = await last.walk;
      if (walk.frames.length <= maxFrames) return { walk, frameRegs };
      return { walk: { frames: walk.frames.slice(0, maxFrames), end: { reason: 'limit', detail: `stopped after ${maxFrames} frames` } }, frameRegs: frameRegs.slice(0, maxFrames) };
    }
    const walk = this.program.registers(tid).then((regs) => this.physicalWalk(regs, maxFrames, tid));
    this.lastWalk = { stop, threadId: tid, maxFrames, walk };
    // A failed walk is tried again, not remembered (its caller gets the error from `walk` itself).
    walk.catch(() => {
      if (this.lastWalk?.walk === walk) this.lastWalk = undefined;
    });
    return walk;
  }

  /** The physical frames of a stopped CPU and the DWARF registers known in each. */
  private async physicalWalk(regs: RegisterValues, maxFrames: number, threadId: string): Promise<PhysicalWalk> {
    const { symbols } = this.program;
    const ip = believablePc(regs, this.arch, threadId);
    const sp = regs.get(this.arch.sp) ?? 0n;
    const bp = regs.get(this.arch.fp) ?? 0n;
    let walk: UnwindResult;
    if (!symbols.orc) walk = await this.unwindWithFramePointers(ip, sp, bp, maxFrames);
    else {
      const gprs: Record<string, bigint> = {};
      for (const name of regs.names()) {
        const v = regs.get(name);
        if (v !== undefined) gprs[name] = v;
      }
      const vmlinux = symbols.orc;
      const modules = await this.program.loadedModules();
      const find = (address: bigint, slide: bigint) =>
        // A module whose ORC table cannot be read gives no entry: the walk then ends there and says why.
        modules?.moduleAt(address) ? modules.orcFind(address).catch(() => undefined) : vmlinux.find(address, slide);
      walk = await unwindOrc({ ip, sp, bp, regs: gprs }, {
        orc: { find },
        slide: symbols.slide,
        maxFrames,
        readU64: (address) => this.program.readU64(address),
      });
    }
    return { walk, frameRegs: await this.callerRegisters(walk.frames, regs) };
  }

  /** The kernel stack of a stopped CPU, inlined frames included, with arguments, locals and source lines. */
  async backtrace(threadId?: string, maxFrames = 64): Promise<Backtrace> {
    const { symbols } = this.program;
    const { walk: result, frameRegs } = await this.walkOf(threadId, maxFrames);
    const modules = await this.program.loadedModules();
    const frames: Frame[] = [];
    for (const [index, f] of result.frames.entries()) {
      // A caller's pc is a return address: the call is the instruction before it.
      const lookup = index === 0 || f.kind !== 'call' ? f.pc : f.pc - 1n;
      // vmlinux's table would name module code after its own last symbol: modules first.
      const sym = modules?.moduleAt(lookup) ? await this.moduleSymbol(modules, f.pc, lookup) : symbols.symbolize(f.pc, lookup);
      const context = this.frameContext(index, result.frames[index + 1]?.cfa, frameRegs[index], sym?.offset === 0n);
      const caller = result.frames[index + 1];
      if (caller?.kind === 'call' && sym && !modules?.moduleAt(lookup)) {
        // What the caller passed, from its call site: gdb's `dfd=dfd@entry=-100` and DW_OP_entry_value in callers.
        const passed = await this.callSiteValues(caller.pc, { entry: f.pc - sym.offset, name: sym.function }, this.frameContext(index + 1, result.frames[index + 2]?.cfa, frameRegs[index + 1], false));
        context.callSiteValue = (regno) => passed.get(regno);
      }
      const source = await symbols.sourceFrames(lookup, context);
      // gdb shows the stopped pc only where it is not the start of its line (frame_show_address).
      const atLineStart = index === 0 ? (await this.program.lineAt(f.pc))?.start === f.pc : undefined;
      const base = { pc: f.pc, sp: f.sp, kind: f.kind, reliable: f.reliable, ...(atLineStart !== undefined ? { atLineStart } : {}) };
      // Inlined functions first, as gdb numbers them, each at the same pc.
      for (const s of source.slice(0, -1)) {
        frames.push({ ...base, index: frames.length, function: s.function, file: s.shortFile, line: s.line, inlined: true, args: s.args, locals: s.locals });
      }
      const outer = source[source.length - 1];
      const args = outer?.args ?? (index === 0 && sym?.offset === 0n ? await this.entryArguments(sym.function, frameRegs[0]!, 'module' in sym ? (sym.module as string) : undefined) : undefined);
      frames.push({ ...base, index: frames.length, function: sym?.function ?? outer?.function, offset: sym?.offset, module: sym && 'module' in sym ? (sym.module as string) : undefined, file: outer?.shortFile, line: outer?.line, inlined: false, args, locals: outer?.locals });
    }
    return { frames, end: result.end };
  }

  /** Without DWARF, at a function's first instruction: its arguments from the BTF prototype. */
  private async entryArguments(fn: string, regs: Map<number, bigint>, module: string | undefined): Promise<Frame['args']> {
    const types = module ? await this.program.moduleTypes(module) : this.program.symbols.types();
    if (!(types instanceof BtfProgramTypes)) return undefined;
    const names = this.arch.dwarfRegisterNames;
    const src = { readMemory: (a: bigint, n: number) => this.program.readMemory(a, n), symbolAt: () => undefined };
    // An argument that cannot be read leaves the frame without arguments, never without its name.
    return btfEntryArguments(types, fn, this.arch, (name) => regs.get(names.indexOf(name)), src).catch(() => undefined);
  }

  /**
   * What an expression needs of frame `frameIndex` (numbered as backtrace() numbers frames,
   * inlined ones included): its pc, the DWARF register values known there and the CFA.
   */
  async frameState(threadId?: string, frameIndex = 0): Promise<FrameState> {
    const { symbols } = this.program;
    const regs = await this.program.registers(threadId);
    if (frameIndex === 0) {
      const first = dwarfRegisters(this.arch, regs);
      const pc = regs.get(this.arch.pc) ?? 0n;
      const atEntry = symbols.symbolize(pc)?.offset === 0n;
      return { pc, lookupPc: pc, registers: first, context: this.frameContext(0, undefined, first, atEntry) };
    }
    const { walk, frameRegs } = await this.walkOf(threadId, frameIndex + 2);
    let shown = 0;
    for (const [i, f] of walk.frames.entries()) {
      const lookup = i === 0 || f.kind !== 'call' ? f.pc : f.pc - 1n;
      const count = Math.max(1, (await symbols.sourceFrames(lookup)).length);
      if (frameIndex < shown + count) {
        const cfa = walk.frames[i + 1]?.cfa;
        return { pc: f.pc, lookupPc: lookup, registers: frameRegs[i]!, cfa, context: this.frameContext(i, cfa, frameRegs[i], false) };
      }
      shown += count;
    }
    throw new KdiveError(`no frame #${frameIndex}: the stack has ${shown} frames`);
  }

  /** Register values a caller's call site says it passed (empty when its DWARF does not say, or cannot be evaluated). */
  private async callSiteValues(returnAddress: bigint, callee: { entry: bigint; name: string }, caller: ExpressionContext): Promise<Map<number, bigint>> {
    const { dwarf, slide } = this.program.symbols;
    if (!dwarf) return new Map();
    // Bad call-site DWARF in one unit must not cost the backtrace: no entry values then, as in gdb.
    return callSiteValues(dwarf, returnAddress - slide, { entry: callee.entry - slide, name: callee.name }, caller).catch(() => new Map<number, bigint>());
  }

  private async moduleSymbol(modules: ModuleSymbols, pc: bigint, lookup: bigint): Promise<{ function: string; offset: bigint; module: string } | undefined> {
    // A module whose kallsyms cannot be read names nothing: the frame keeps its address.
    const hit = await modules.symbolize(lookup).catch(() => undefined);
    return hit && { ...hit, offset: pc - (lookup - hit.offset) };
  }

  /**
   * Kernels built without ORC (CONFIG_UNWINDER_FRAME_POINTER, such as kdive's kgdb build): the rbp
   * chain. At a function's first instruction its frame is not set up yet and the return address
   * is at [rsp], so the caller is taken from there first.
   */
  private async unwindWithFramePointers(ip: bigint, sp: bigint, bp: bigint, maxFrames: number): Promise<UnwindResult> {
    const readU64 = (a: bigint) => this.program.readU64(a);
    const atEntry = this.program.symbols.symbolize(ip)?.offset === 0n;
    if (!atEntry) return unwindFramePointers({ ip, sp, bp }, { readU64, maxFrames, isCode: isKernelAddress });
    const first: UnwoundFrame = { pc: ip, sp, kind: 'initial', reliable: true };
    // The stack the stub's rsp points at may not be readable, or hold no return address: frame 0 alone, and why.
    const ret = await readU64(sp).catch((err: Error) => err);
    if (ret instanceof Error) return { frames: [first], end: { reason: 'error', detail: `memory read failed: ${ret.message}` } };
    if (!isKernelAddress(ret)) return { frames: [first], end: { reason: 'error', detail: `return address 0x${ret.toString(16)} at 0x${sp.toString(16)} cannot be code (a corrupt stack)` } };
    const rest = await unwindFramePointers({ ip: ret, sp: sp + 8n, bp }, { readU64, maxFrames: Math.max(1, maxFrames - 1), stack: { low: sp, high: sp + 0x10000n }, isCode: isKernelAddress });
    const [caller, ...more] = rest.frames;
    return { frames: [first, { ...caller!, kind: 'call', cfa: sp + 8n, reliable: false }, ...more], end: rest.end };
  }

  /**
   * Register values of each physical frame, by DWARF number: all of them in frame 0; in callers,
   * what .debug_frame recovers (callee-saved registers, sp, pc), checked against the ORC walk.
   * A frame whose CFI disagrees with ORC, or has none, gets nothing more than ORC's sp and pc.
   */
  private async callerRegisters(walk: { pc: bigint; sp: bigint; kind: string }[], regs: RegisterValues): Promise<Map<number, bigint>[]> {
    const { symbols } = this.program;
    const { dwarfPc, dwarfSp } = this.arch;
    const first = dwarfRegisters(this.arch, regs);
    const out: Map<number, bigint>[] = [first];
    const cfi = await symbols.callFrameInfo();
    let current: Map<number, bigint> | undefined = first;
    for (let i = 0; i + 1 < walk.length; i++) {
      const next = walk[i + 1]!;
      let caller: Map<number, bigint> | undefined;
      if (current && cfi && next.kind === 'call') {
        const lookup = (i === 0 || walk[i]!.kind !== 'call' ? walk[i]!.pc : walk[i]!.pc - 1n) - symbols.slide;
        const rules = cfi.rulesAt(lookup);
        const step: { caller: Map<number, bigint> } | undefined = rules ? await unwindRegistersWithCfi(rules, current, (a) => this.program.readU64(a)) : undefined;
        if (step && step.caller.get(dwarfPc) === next.pc && step.caller.get(dwarfSp) === next.sp) caller = step.caller;
      }
      out.push(caller ?? new Map([[dwarfSp, next.sp], [dwarfPc, next.pc]]));
      current = caller;
    }
    return out;
  }

  /** What DWARF location expressions may read in one frame; registers nobody recovered are <unavailable>. */
  private frameContext(index: number, cfa: bigint | undefined, regs: Map<number, bigint> | undefined, atEntry: boolean): ExpressionContext {
    const known = (regno: number): bigint | undefined => regs?.get(regno);
    return {
      readRegister: known,
      readMemory: (address, length) => this.program.readMemory(address, length),
      cfa,
      // At a function's first instruction, every register still holds its value on entry.
      entryRegister: index === 0 && atEntry ? known : undefined,
    };
  }
}
