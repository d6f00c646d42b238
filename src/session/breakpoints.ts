import type { BreakpointKind } from '../target/target.js';

/** One address of a breakpoint (a FILE:LINE of an inlined header has hundreds, as in gdb). */
export interface BreakpointLocation {
  address: bigint;
  /** gdb's `disable N.M`: this location is out of the guest while its breakpoint stays. */
  enabled: boolean;
  /** The innermost function (inlined or not) at that address, and the source line, when known. */
  function?: string;
  file?: string;
  line?: number;
}

/** A user breakpoint: where the user asked for it and where it really is. */
export interface Breakpoint {
  id: number;
  /** What the user typed: `do_mkdirat`, `*0xffffffff81000000`. */
  location: string;
  /** The first location's address (the only one for most breakpoints). */
  address: bigint;
  /** Every address it is inserted at, in address order; one for a function or `*ADDRESS`. */
  locations: BreakpointLocation[];
  kind: BreakpointKind;
  enabled: boolean;
  hits: number;
  /** Stop only on hit numbers above this (gdb's ignore count). */
  ignoreCount: number;
  temporary: boolean;
  /** A C expression: the hit stops only when it is non-zero. */
  condition?: string;
  /**
   * A breakpoint in a module that is not loaded yet (`MODULE:FUNCTION`): address 0 until the
   * module loads and kdive finds the function, then inserted like any other.
   */
  pending?: boolean;
  /** gdb's breakpoint commands: REPL lines run at each stop here (`silent` first: no stop banner). */
  commands?: string[];
  /** Set for watchpoints: what is watched and how. */
  watch?: { expression: string; length: number; kind: 'write' | 'read' | 'access'; lastValue?: string };
}

/** The session's breakpoint table; the target only ever sees addresses. */
export class BreakpointTable {
  private readonly byId = new Map<number, Breakpoint>();
  private nextId = 1;

  add(location: string, address: bigint, kind: BreakpointKind, temporary = false, locations?: Omit<BreakpointLocation, 'enabled'>[]): Breakpoint {
    const locs = (locations ?? [{ address }]).map((l) => ({ ...l, enabled: true }));
    const bp: Breakpoint = { id: this.nextId++, location, address: locs[0]?.address ?? address, locations: locs, kind, enabled: true, hits: 0, ignoreCount: 0, temporary };
    this.byId.set(bp.id, bp);
    return bp;
  }

  remove(id: number): Breakpoint | undefined {
    const bp = this.byId.get(id);
    this.byId.delete(id);
    return bp;
  }

  get(id: number): Breakpoint | undefined {
    return this.byId.get(id);
  }

  all(): Breakpoint[] {
    return [...this.byId.values()];
  }

  /** Enabled breakpoints at an address (several user breakpoints may share one). */
  at(address: bigint): Breakpoint[] {
    return this.all().filter((bp) => bp.enabled && !bp.pending && (bp.watch ? bp.address === address : bp.locations.some((l) => l.enabled && l.address === address)));
  }

  /** Whether some other enabled breakpoint still needs this address inserted. */
  addressInUse(address: bigint, exceptId?: number): boolean {
    return this.at(address).some((bp) => bp.id !== exceptId);
  }
}
