import type { Arch } from '../arch/arch.js';
import { KdiveError, NotFoundError } from '../errors.js';
import type { BreakpointKind, WatchKind } from '../target/target.js';
import type { Breakpoint, BreakpointLocation } from './breakpoints.js';
import type { EvaluationService } from './evaluation-service.js';
import type { Program } from './program.js';

export interface BreakpointOptions {
  kind?: BreakpointKind;
  /** gdb's tbreak: deleted at its first stop. */
  temporary?: boolean;
  /** Stop only when this C expression is non-zero at the hit. */
  condition?: string;
  /** Let this many hits pass without stopping. */
  ignoreCount?: number;
}

/** `virtio_net:virtnet_open`: a module and a function (FILE:LINE has a dot or a line number). */
export function isModuleLocation(location: string): boolean {
  return /^[A-Za-z_]\w*:[A-Za-z_]\w*$/.test(location.trim());
}

/**
 * User breakpoints and watchpoints: locations as users write them resolved to every address
 * (FILE:LINE to all of gdb's locations, functions of loaded modules, pending MODULE:FUNCTION set
 * when the module loads), kept in the program's table and inserted through its RunControl.
 */
export class BreakpointService {
  constructor(
    private readonly program: Program,
    private readonly evaluation: EvaluationService,
    private readonly arch: Arch,
  ) {}

  /**
   * A breakpoint at a function, FILE:LINE (every place gdb would put it: a header line inlined into
   * hundreds of functions has hundreds of locations) or `*ADDRESS`; unknown locations fail before
   * anything changes, and a location that cannot be inserted takes the others out again.
   */
  async addBreakpoint(location: string, options: BreakpointKind | BreakpointOptions = {}): Promise<Breakpoint> {
    const opts = typeof options === 'string' ? { kind: options } : options;
    const kind = opts.kind ?? 'software';
    let locations: Omit<BreakpointLocation, 'enabled'>[];
    try {
      locations = await this.resolveBreakLocations(location);
    } catch (err) {
      // MODULE:FUNCTION of a module not loaded yet: pending until it loads (a typo in a vmlinux name stays an error).
      if (!(err instanceof NotFoundError) || !isModuleLocation(location)) throw err;
      return this.addPendingBreakpoint(location, kind, opts);
    }
    const bp = this.program.breakpoints.add(location, locations[0]!.address, kind, opts.temporary ?? false, locations);
    bp.condition = opts.condition;
    bp.ignoreCount = opts.ignoreCount ?? 0;
    try {
      for (const loc of bp.locations) await this.program.run.sync(loc.address, kind);
    } catch (err) {
      this.program.breakpoints.remove(bp.id);
      for (const loc of bp.locations) await this.program.run.sync(loc.address, kind).catch(() => undefined); // best effort: the insert error is the one to report
      throw err;
    }
    return bp;
  }

  /** The module-load hook (do_init_module's first instruction) while some breakpoint is pending. */
  moduleLoadHook: bigint | undefined;

  private async addPendingBreakpoint(location: string, kind: BreakpointKind, opts: BreakpointOptions): Promise<Breakpoint> {
    const bp = this.program.breakpoints.add(location.trim(), 0n, kind, opts.temporary ?? false);
    bp.pending = true;
    bp.condition = opts.condition;
    bp.ignoreCount = opts.ignoreCount ?? 0;
    try {
      if (this.moduleLoadHook === undefined) {
        // At do_init_module a new module's code and kallsyms are in place and its init has not run.
        const hook = this.program.symbols.resolveLocation('do_init_module');
        await this.program.run.addInternal(hook);
        this.moduleLoadHook = hook;
      }
    } catch (err) {
      this.program.breakpoints.remove(bp.id);
      throw err;
    }
    return bp;
  }

  /** At the module-load hook: pending breakpoints whose module is now there are put in. */
  async resolvePendingBreakpoints(): Promise<void> {
    const pending = this.program.breakpoints.all().filter((b) => b.pending);
    const modules = pending.length ? await this.program.loadedModules() : undefined;
    for (const bp of pending) {
      // A module whose symbols cannot be read yet keeps its breakpoint pending, as one not loaded.
      const found = await modules?.lookup(bp.location).catch(() => undefined);
      if (!found) continue;
      bp.address = found.address;
      bp.locations = [{ address: found.address, enabled: true, function: bp.location.split(':').pop() }];
      bp.pending = false;
      await this.program.run.sync(found.address, bp.kind);
    }
    await this.dropModuleHookIfUnused();
  }

  private async dropModuleHookIfUnused(): Promise<void> {
    if (this.moduleLoadHook === undefined || this.program.breakpoints.all().some((b) => b.pending)) return;
    const hook = this.moduleLoadHook;
    this.moduleLoadHook = undefined;
    await this.program.run.removeInternal(hook);
  }

  /** Where a location as the user writes it (`do_mkdirat`, `fs/namei.c:4169`, `*0xffff...`) is at run time: its first address. */
  async resolveBreakLocation(location: string): Promise<bigint> {
    return (await this.resolveBreakLocations(location))[0]!.address;
  }

  /** Every run-time address of a location, with the function and line of each when known. */
  async resolveBreakLocations(location: string): Promise<Omit<BreakpointLocation, 'enabled'>[]> {
    if (/^\d+$/.test(location.trim())) location = await this.lineInCurrentFile(Number(location.trim()));
    const fileLine = /^(.+\.[chS]):(\d+)$/.exec(location.trim());
    if (fileLine) {
      if (!this.program.symbols.dwarf) throw new NotFoundError(`${this.program.symbols.vmlinuxPath} has no DWARF: cannot place a breakpoint at ${location}`);
      const found = await this.program.symbols.dwarf.lineLocations(fileLine[1]!, Number(fileLine[2]));
      return found.locations.map((l) => ({ address: l.address + this.program.symbols.slide, function: l.function, file: l.shortFile, line: l.line }));
    }
    let address: bigint;
    try {
      address = this.program.symbols.resolveLocation(location);
    } catch (err) {
      // Not in vmlinux: a function of a loaded module (`name` or `module:name`), from the kernel's own kallsyms.
      // Modules that cannot be read leave the vmlinux's 'no function named' as the answer.
      const inModule = err instanceof NotFoundError && /^[\w.]+(:\w+)?$/.test(location.trim()) ? await (await this.program.loadedModules())?.lookup(location.trim()).catch(() => undefined) : undefined;
      if (!inModule) throw err;
      return [{ address: inModule.address, function: location.trim().split(':').pop() }];
    }
    const where = await this.program.symbols.sourceFrames(address);
    const inner = where[0];
    const outer = where[where.length - 1];
    // gdb names a function breakpoint after the function, an address after the code there (inlined or not).
    const named = /^[A-Za-z_]\w*$/.test(location.trim()) ? location.trim() : undefined;
    return [{ address, function: named ?? inner?.function, file: outer?.shortFile, line: outer?.line }];
  }

  /** A bare line number, as gdb reads it: that line of the file the selected thread is stopped in. */
  async lineInCurrentFile(line: number, threadId?: string): Promise<string> {
    const here = await this.program.lineAt((await this.program.registers(threadId)).get(this.arch.pc) ?? 0n);
    if (!here) throw new NotFoundError(`line ${line}: no default source file (the pc has no line information)`);
    return `${here.shortFile}:${line}`;
  }

  async deleteBreakpoint(id: number): Promise<void> {
    const bp = this.program.breakpoints.remove(id);
    if (!bp) throw new NotFoundError(`no breakpoint number ${id}`);
    if (bp.watch) await this.program.target.removeWatchpoint(bp.address, bp.watch.length, bp.watch.kind);
    else if (bp.pending) await this.dropModuleHookIfUnused();
    else for (const loc of bp.locations) await this.program.run.sync(loc.address, bp.kind);
  }

  /** gdb's enable / disable N.M: one location of a breakpoint (numbered from 1). */
  async setBreakpointLocationEnabled(id: number, location: number, enabled: boolean): Promise<void> {
    const bp = this.program.breakpoints.get(id);
    const loc = bp?.locations[location - 1];
    if (!bp || bp.watch || bp.pending || !loc) throw new NotFoundError(`Bad breakpoint location number '${location}'`);
    if (loc.enabled === enabled) return;
    loc.enabled = enabled;
    await this.program.run.sync(loc.address, bp.kind);
  }

  /** gdb's enable / disable N. */
  async setBreakpointEnabled(id: number, enabled: boolean): Promise<void> {
    const bp = this.program.breakpoints.get(id);
    if (!bp) throw new NotFoundError(`no breakpoint number ${id}`);
    if (bp.enabled === enabled) return;
    bp.enabled = enabled;
    if (bp.watch) {
      if (enabled) await this.program.target.insertWatchpoint(bp.address, bp.watch.length, bp.watch.kind);
      else await this.program.target.removeWatchpoint(bp.address, bp.watch.length, bp.watch.kind);
    } else if (!bp.pending) for (const loc of bp.locations) await this.program.run.sync(loc.address, bp.kind);
  }

  /** A hardware watchpoint on an lvalue expression (watch / rwatch / awatch). */
  async addWatchpoint(expression: string, kind: WatchKind = 'write'): Promise<Breakpoint> {
    const value = await this.evaluation.evaluate(expression);
    if (value.address === undefined) throw new KdiveError(`cannot watch '${expression}': it is not a value in memory`);
    const size = await this.evaluation.evaluate(`sizeof(${expression})`);
    const length = Number(size.scalar ?? 8n);
    const bp = this.program.breakpoints.add(expression, value.address, 'hardware');
    bp.watch = { expression, length, kind, lastValue: value.text };
    try {
      await this.program.target.insertWatchpoint(value.address, length, kind);
    } catch (err) {
      this.program.breakpoints.remove(bp.id);
      throw err;
    }
    return bp;
  }
}
