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
  /** 1 GiB and 2 MiB pages walked this stop: page number (va >> shift) -> physical base. */
  private readonly largePages = new Map<number, Map<bigint, bigint>>([[30, new Map()], [21, new Map()]]);
  /** 4 KiB pages: the PTE table of each 2 MiB walked this stop, by va >> 21. */
  private readonly leafTables = new Map<bigint, BigUint64Array>();
  private readonly tables = new Map<bigint, BigUint64Array>();
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
    for (const t of this.largePages.values()) t.clear();
    this.leafTables.clear();
    this.tables.clear();
    this.rootOfStop = undefined;
  }

  /**
   * Reads while the kernel runs walk the tables from the root of the last stop: have a real one
   * (the halted boot's CR3 is 0). Any kernel root will do for kernel addresses, which every address
   * space maps alike, so it is not read again at every resume (one packet less per breakpoint hit).
   */
  async beforeRun(): Promise<void> {
    if (!this.lastRoot || this.lastRoot.cr3 === 0n) await this.currentRoot();
  }

  async read(address: bigint, length: number, running: boolean, into?: Buffer): Promise<Buffer | undefined> {
    const root = running ? this.lastRoot : await this.currentRoot();
    if (!root) return undefined;
    const out = into ?? Buffer.allocUnsafe(length); // every byte is read into, or the buffer is dropped
    // Pages that follow each other in RAM (the direct map, a large page) are read in one go.
    let run: { pa: bigint; at: number; n: number } | undefined;
    const flush = async () => Boolean(!run || (await this.ram.read(run.pa, run.n, out, run.at)));
    for (let done = 0; done < length; ) {
      const va = address + BigInt(done);
      const cached = this.translateCached(va);
      const page = cached === undefined ? await this.translate(va, root) : cached;
      if (!page) return undefined;
      const n = Math.min(length - done, Number(page.end - va));
      if (run && run.pa + BigInt(run.n) === page.pa) run.n += n;
      else {
        if (!(await flush())) return undefined;
        run = { pa: page.pa, at: done, n };
      }
      done += n;
    }
    if (!(await flush())) return undefined;
    this.bytesRead += length;
    return out;
  }

  /** A page of page-table entries, read once per stop (a walk of 16,384 pages reads few distinct tables). */
  private async tablePage(pa: bigint): Promise<BigUint64Array> {
    let t = this.tables.get(pa);
    if (!t) {
      const b = await this.ram.read(pa, 4096);
      if (!b) throw new Error('page table outside RAM');
      t = new BigUint64Array(b.buffer, b.byteOffset, 512);
      this.tables.set(pa, t);
    }
    return t;
  }

  private currentRoot(): Promise<PageTableRoot | undefined> {
    this.rootOfStop ??= this.root().then((r) => (this.lastRoot = r ?? this.lastRoot));
    return this.rootOfStop;
  }

  /** The physical address of `va` and the end of its page (a 4 KiB, 2 MiB or 1 GiB page), by a walk. */
  private async translate(va: bigint, root: PageTableRoot): Promise<{ pa: bigint; end: bigint } | undefined> {
    const entry = async (pa: bigint) => (await this.tablePage(pa & ~0xfffn))[Number((pa & 0xfffn) >> 3n)]!;
    // Not mapped, or tables outside RAM: the stub decides (it reports the fault as gdb does).
    const t = await walkPageTables(entry, va, root.cr3, root.fiveLevel).catch(() => undefined);
    if (!t) return undefined;
    if (t.pageSize === 4096) {
      // Keep the whole PTE table: the next 511 pages of this 2 MiB need no walk.
      this.leafTables.set(va >> 21n, await this.tablePage(t.levels[t.levels.length - 1]!.entryAddress & ~0xfffn));
    } else {
      const shift = BigInt(Math.log2(t.pageSize));
      this.largePages.get(Number(shift))!.set(va >> shift, t.pa & ~((1n << shift) - 1n));
    }
    return this.translateCached(va) ?? undefined;
  }

  /** From what this stop has walked already: the page, null when known not mapped, undefined when not known. */
  private translateCached(va: bigint): { pa: bigint; end: bigint } | null | undefined {
    const table = this.leafTables.get(va >> 21n);
    if (table) {
      const e = table[Number((va >> 12n) & 0x1ffn)]!;
      if ((e & 1n) === 0n) return null;
      return { pa: (e & 0x000ffffffffff000n) | (va & 0xfffn), end: (va | 0xfffn) + 1n };
    }
    for (const [shift, pages] of this.largePages) {
      const base = pages.get(va >> BigInt(shift));
      if (base === undefined) continue;
      const mask = (1n << BigInt(shift)) - 1n;
      return { pa: base | (va & mask), end: (va | mask) + 1n };
    }
    return undefined;
  }
}
