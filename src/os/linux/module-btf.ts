import { listEntries } from './list.js';
import { cString, readU32, readU64, requireSymbol, type KernelView } from './kernel-view.js';

/** Kernel BTF can be several MB; a module's is KBs. Past this, a pointer or size read is not believed. */
const MAX_MODULE_BTF = 16 << 20;

/**
 * A loaded module's split BTF as the kernel holds it (kernel/bpf/btf.c): each module's BTF is
 * copied into a `struct btf` on the `btf_modules` list when the module loads, and outlives the
 * load-time copy (`mod->btf_data`, freed after init). Undefined when the kernel keeps none for it
 * (no CONFIG_DEBUG_INFO_BTF_MODULES, or a module built without BTF).
 */
export async function readModuleBtf(view: KernelView, moduleName: string): Promise<Buffer | undefined> {
  if (view.symbol('btf_modules') === undefined) return undefined;
  const t = view.types;
  const listOff = await t.offsetOf('struct btf_module', 'list');
  const moduleOff = await t.offsetOf('struct btf_module', 'module');
  const btfOff = await t.offsetOf('struct btf_module', 'btf');
  const nameOff = await t.offsetOf('struct module', 'name');
  const dataOff = await t.offsetOf('struct btf', 'data');
  const sizeOff = await t.offsetOf('struct btf', 'data_size');
  for (const entry of await listEntries(view, requireSymbol(view, 'btf_modules'), listOff, 10_000)) {
    const mod = await readU64(view, entry + BigInt(moduleOff));
    if (cString(await view.read(mod + BigInt(nameOff), 56)) !== moduleName) continue;
    const btf = await readU64(view, entry + BigInt(btfOff));
    const data = await readU64(view, btf + BigInt(dataOff));
    const size = await readU32(view, btf + BigInt(sizeOff));
    return size > 0 && size <= MAX_MODULE_BTF ? view.read(data, size) : undefined;
  }
  return undefined;
}
