import { KdiveError } from '../../errors.js';

export interface Translation {
  pa: bigint;
  /** Each level's entry: name, its physical address and value. */
  levels: { level: string; entryAddress: bigint; entry: bigint }[];
  pageSize: number;
}

const PRESENT = 1n;
const PAGE_SIZE_BIT = 1n << 7n;
const ADDRESS_MASK = 0x000ffffffffff000n;

/**
 * Walks the x86-64 page tables from CR3 (arch/x86/include/asm/pgtable_types.h): 4 or 5 levels,
 * 1 GiB and 2 MiB pages. `readEntry` reads the 8-byte entry at a physical address: through the
 * kernel's direct map over the stub (vtop), or straight from the guest's RAM (GuestMemory).
 */
export async function walkPageTables(readEntry: (pa: bigint) => Promise<bigint>, va: bigint, cr3: bigint, fiveLevel: boolean): Promise<Translation> {
  const names = fiveLevel ? ['PGD', 'P4D', 'PUD', 'PMD', 'PTE'] : ['PGD', 'PUD', 'PMD', 'PTE'];
  const shifts = fiveLevel ? [48, 39, 30, 21, 12] : [39, 30, 21, 12];
  let table = cr3 & ADDRESS_MASK;
  const levels: Translation['levels'] = [];
  for (let i = 0; i < shifts.length; i++) {
    const index = (va >> BigInt(shifts[i]!)) & 0x1ffn;
    const entryAddress = table + index * 8n;
    const entry = await readEntry(entryAddress);
    levels.push({ level: names[i]!, entryAddress, entry });
    if ((entry & PRESENT) === 0n) throw new KdiveError(`0x${va.toString(16)} is not mapped (${names[i]} entry ${index} is not present)`);
    const shift = shifts[i]!;
    if (shift === 12 || ((shift === 30 || shift === 21) && (entry & PAGE_SIZE_BIT) !== 0n)) {
      const pageMask = (1n << BigInt(shift)) - 1n;
      return { pa: (entry & ADDRESS_MASK & ~pageMask) | (va & pageMask), levels, pageSize: 1 << shift };
    }
    table = entry & ADDRESS_MASK;
  }
  throw new KdiveError('page walk ended without a page');
}
