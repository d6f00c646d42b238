import { BTF_KIND, type BtfFile } from '../symbols/btf/index.js';
import { BtfTypeBuilder } from './btf-type-builder.js';
import { builtinType, pointerTo, type CType } from './c-types.js';
import type { ProgramTypes } from './program-types.js';

/**
 * Globals the kernel's BTF does not describe (pahole emits VARs only for per-CPU variables), typed
 * here by kdive so `p init_task.comm`, `ps` and `dmesg` work without DWARF. Each is a declaration
 * that has been stable for many releases; a kernel whose BTF lacks the named type simply leaves the
 * variable untyped. Their addresses come from kallsyms.
 */
const DECLARED_GLOBALS: Record<string, string> = {
  init_task: 'struct task_struct',
  init_mm: 'struct mm_struct',
  init_uts_ns: 'struct uts_namespace',
  prb: 'struct printk_ringbuffer *',
  modules: 'struct list_head',
  jiffies: 'unsigned long',
  jiffies_64: 'u64',
  page_offset_base: 'unsigned long',
  vmemmap_base: 'unsigned long',
  vmalloc_base: 'unsigned long',
  nr_cpu_ids: 'unsigned int',
  saved_command_line: 'char *',
  system_state: 'enum system_states',
  console_printk: 'int [4]',
  __per_cpu_offset: 'unsigned long [8192]',
};

/** ProgramTypes over BTF: every type and prototype; per-CPU variables by their VARs; other globals declared above. */
export class BtfProgramTypes implements ProgramTypes {
  readonly format = 'btf';
  readonly builder: BtfTypeBuilder;

  constructor(readonly btf: BtfFile) {
    this.builder = new BtfTypeBuilder(btf);
  }

  async findType(name: string): Promise<CType | undefined> {
    const key = name.trim().replace(/\s+/g, ' ');
    const ids = this.btf.lookup(key);
    const tagged = /^(struct|union|enum) /.test(key);
    // Prefer a definition to a forward declaration, and a type to a function or variable of that name.
    const pick = ids.find((id) => {
      const k = this.btf.type(id)!.kind;
      return tagged ? k !== BTF_KIND.FWD : k === BTF_KIND.TYPEDEF || k === BTF_KIND.INT || k === BTF_KIND.FLOAT;
    }) ?? (tagged ? ids[0] : undefined);
    return pick === undefined ? undefined : this.builder.fromId(pick);
  }

  async globalVariable(name: string): Promise<{ type: CType; address?: bigint } | undefined> {
    const v = this.btf.lookup(name).find((id) => this.btf.type(id)!.kind === BTF_KIND.VAR);
    if (v !== undefined) return { type: this.builder.fromId(v) };
    const declared = DECLARED_GLOBALS[name];
    if (!declared) return undefined;
    const type = await this.declaredType(declared);
    return type && { type };
  }

  async functionType(name: string): Promise<CType | undefined> {
    const f = this.btf.lookup(name).find((id) => this.btf.type(id)!.kind === BTF_KIND.FUNC);
    return f === undefined ? undefined : this.builder.fromId(f);
  }

  /** A function's parameters by name and type, from its BTF prototype (arguments at entry). */
  functionParameters(name: string): { name: string; type: CType }[] | undefined {
    const f = this.btf.lookup(name).find((id) => this.btf.type(id)!.kind === BTF_KIND.FUNC);
    const proto = f === undefined ? undefined : this.btf.type(this.btf.type(f)!.sizeOrType);
    if (!proto || proto.kind !== BTF_KIND.FUNC_PROTO) return undefined;
    return this.btf.params(proto).filter((p) => p.type !== 0).map((p) => ({ name: p.name, type: this.builder.fromId(p.type) }));
  }

  /** `struct x`, `T *` or `T [N]` from the declarations above. */
  private async declaredType(text: string): Promise<CType | undefined> {
    const m = /^(.*?)\s*(\*?)\s*(?:\[(\d+)\])?$/.exec(text)!;
    const base = builtinType(m[1]!) ?? (await this.findType(m[1]!));
    if (!base) return undefined;
    if (m[2]) return pointerTo(base);
    if (m[3]) return { kind: 'array', element: base, count: Number(m[3]) };
    return base;
  }
}
