import { listEntries } from './list.js';
import { cString, readU32, readU64, requireSymbol, type KernelView } from './kernel-view.js';

export interface ModuleInfo {
  name: string;
  address: bigint;
  /** Where its code starts and how big its core part is. */
  base: bigint;
  size: number;
}

/** Loaded modules, newest first as lsmod lists them (kernel/module/main.c: the `modules` list). */
export async function listModules(view: KernelView): Promise<ModuleInfo[]> {
  const M = 'struct module';
  const t = view.types;
  const listOff = await t.offsetOf(M, 'list');
  const nameOff = await t.offsetOf(M, 'name');
  // 6.1: core_layout {base, size}; 6.4+: mem[MOD_TEXT] {base, size}.
  const baseMember = (await t.member(M, 'core_layout.base')) ?? (await t.member(M, 'mem.base'));
  const sizeMember = (await t.member(M, 'core_layout.size')) ?? (await t.member(M, 'mem.size'));
  const out: ModuleInfo[] = [];
  for (const m of await listEntries(view, requireSymbol(view, 'modules'), listOff)) {
    out.push({
      name: cString(await view.read(m + BigInt(nameOff), 56)),
      address: m,
      base: baseMember ? await readU64(view, m + BigInt(baseMember.offset)) : 0n,
      size: sizeMember ? await readU32(view, m + BigInt(sizeMember.offset)) : 0,
    });
  }
  return out;
}
