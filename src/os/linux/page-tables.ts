import { walkPageTables, type Translation } from '../../arch/x86_64/page-walk.js';
import { readU64, requireSymbol, type KernelView } from './kernel-view.js';

export type { Translation } from '../../arch/x86_64/page-walk.js';

/** `vtop`: the page walk from CR3, its table pages read through the kernel's direct map (page_offset_base). */
export async function translate(view: KernelView, va: bigint, cr3: bigint, fiveLevel: boolean): Promise<Translation> {
  const pageOffsetBase = await readU64(view, requireSymbol(view, 'page_offset_base'));
  return walkPageTables((pa) => readU64(view, pageOffsetBase + pa), va, cr3, fiveLevel);
}
