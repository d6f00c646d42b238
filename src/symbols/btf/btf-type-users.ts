import type { BtfFile } from './btf-file.js';
import { BTF_KIND } from './btf-kinds.js';

/**
 * Functions whose BTF prototype takes a pointer to the named struct or union (`struct tcp_sock`):
 * the compilation unit of such a function's code nearly always defines the type in full, so a
 * DWARF reader can look there before indexing every unit. At most `max` names, in BTF order.
 */
export function functionsTakingPointerTo(btf: BtfFile, tagged: string, max: number): string[] {
  const targets = new Set(btf.lookup(tagged).filter((id) => btf.type(id)?.kind !== BTF_KIND.FWD));
  if (targets.size === 0) return [];
  const pointsAtTarget = (typeId: number): boolean => {
    let t = btf.type(typeId);
    if (t?.kind !== BTF_KIND.PTR) return false;
    t = btf.type(t.sizeOrType);
    for (let guard = 0; t && guard < 8 && (t.kind === BTF_KIND.CONST || t.kind === BTF_KIND.VOLATILE || t.kind === BTF_KIND.TYPE_TAG); guard++) t = btf.type(t.sizeOrType);
    return t !== undefined && targets.has(t.id);
  };
  const out: string[] = [];
  for (const f of btf.idsOfKind(BTF_KIND.FUNC)) {
    const fn = btf.type(f)!;
    const proto = btf.type(fn.sizeOrType);
    if (proto?.kind === BTF_KIND.FUNC_PROTO && btf.params(proto).some((p) => pointsAtTarget(p.type))) out.push(fn.name);
    if (out.length >= max) break;
  }
  return out;
}
