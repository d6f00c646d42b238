import { walkPageTables } from '../arch/x86_64/page-walk.js';
import type { DirectMemory } from '../target/target.js';
import type { GuestRam } from './guest-ram.js';

/** The root of the page tables: CR3, and whether CR4.LA57 (5-level paging) is on. */
export interface PageTableRoot {
  cr3: bigint;
  fiveLevel: boolean;
}

/**
 * Kernel virtual memory read straight from the guest's RAM: each page translated by kdive's own
 * walk of the guest's page tables (their entries read from RAM too), translations kept until the
 * next stop. A range that crosses anything but RAM (MMIO, an unmapped page) is left to the stub.
 *
 * The root is the CR3 of the last stop, read once per stop through `root()`; while the kernel runs
 * the last stop's root is used, so kernel mappings (the direct map, the image, vmalloc as it was)
 * read as they are now, from a walk that may be one stop old.
 */
export class GuestMemory implements DirectMemory {
  /** page number (va >> shift) -> physical page base, per page size. */
  private readonly tlb = new Map<number, Map<bigint, bigint>>([[30, new Map()], [21, new Map()], [12, new Map()]]);
  private rootOfStop: Promise<PageTableRoot | undefined> | undefined;
  private lastRoot: PageTableRoot | undefined;
  /** Bytes served from RAM since open (for `info` and the benchmarks). */
  bytesRead = 0;

  constructor(
    private readonly ram: GuestRam,
    private readonly root: () => Promise<PageTableRoot | undefined>,
  ) {}

  /** A new stop: page tables may have changed, and CR3 is the stopped CPU's. */
  invalidate(): void {
    for (const t of this.tlb.values()) t.clear();
    this.rootOfStop = undefined;
  }

  async read(address: bigint, length: number, running: boolean): Promise<Buffer | undefined> {
    const root = running ? this.lastRoot : await this.currentRoot();
    if (!root) return undefined;
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const va = address + BigInt(done);
      const page = await this.translate(va, root);
      if (!page) return undefined;
      const n = Math.min(length - done, Number(page.end - va));
      if (!(await this.ram.read(page.pa, n, out, done))) return undefined;
      done += n;
    }
    this.bytesRead += length;
    return out;
  }

  private currentRoot(): Promise<PageTableRoot | undefined> {
    this.rootOfStop ??= this.root().then((r) => (this.lastRoot = r ?? this.lastRoot));
    return this.rootOfStop;
  }

  /** The physical address of `va` and the end of its page (a 4 KiB, 2 MiB or 1 GiB page). */
  private async translate(va: bigint, root: PageTableRoot): Promise<{ pa: bigint; end: bigint } | undefined> {
    for (const [shift, t] of this.tlb) {
      const base = t.get(va >> BigInt(shift));
      if (base !== undefined) {
        const mask = (1n << BigInt(shift)) - 1n;
        return { pa: base | (va & mask), end: (va | mask) + 1n };
      }
    }
    const entry = async (pa: bigint) => {
      const b = await this.ram.read(pa, 8);
      if (!b) throw new Error('page table outside RAM');
      return b.readBigUInt64LE(0);
    };
    // Not mapped, or tables outside RAM: the stub decides (it reports the fault as gdb does).
    const t = await walkPageTables(entry, va, root.cr3, root.fiveLevel).catch(() => undefined);
    if (!t) return undefined;
    const shift = Math.log2(t.pageSize);
    const mask = (1n << BigInt(shift)) - 1n;
    this.tlb.get(shift)!.set(va >> BigInt(shift), t.pa & ~mask);
    return { pa: t.pa, end: (va | mask) + 1n };
  }
}
