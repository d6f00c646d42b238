import { OrcTable, type OrcEntry, type OrcFormat } from '../../symbols/orc/index.js';
import { listModules } from './modules.js';
import { readU32, readU64, type KernelView } from './kernel-view.js';

/** One symbol of a loaded module, from the module's own kallsyms in guest memory. */
export interface ModuleSymbol {
  name: string;
  address: bigint;
  size: bigint;
  /** nm's letter: t/T text, d/D data, b/B bss, r/R read-only. */
  type: string;
}

/** A loaded module's code: where it is, its symbols and ORC table (read on first use). */
export interface LoadedModule {
  name: string;
  /** The struct module. */
  address: bigint;
  /** The core text: [textStart, textEnd). */
  textStart: bigint;
  textEnd: bigint;
  /** The init text while the module initialises (freed after, then absent). */
  initText?: { start: bigint; end: bigint };
}

const ELF64_SYM_SIZE = 24;
/** A module's kallsyms string table is read at most this far past its last name's start. */
const NAME_SLACK = 256;

/**
 * What the kernel knows of its modules at the current stop, read from guest memory the way
 * kallsyms and the ORC unwinder read it (mod->kallsyms, mod->arch.orc_unwind*), with no .ko
 * file: names and ORC tables for addresses in module code, and addresses for module symbols.
 * Good for one stop: modules come and go while the kernel runs.
 */
export class ModuleSymbols {
  private readonly symbols = new Map<bigint, Promise<ModuleSymbol[]>>();
  private readonly orcs = new Map<bigint, Promise<OrcTable | undefined>>();

  private constructor(private readonly view: KernelView, readonly modules: readonly LoadedModule[], private readonly orcFormat: OrcFormat) {}

  /** The module list (names and text ranges); symbols and ORC are read when asked for. */
  static async read(view: KernelView, orcFormat: OrcFormat = 'v1'): Promise<ModuleSymbols> {
    const M = 'struct module';
    const t = view.types;
    // 6.1: core_layout.text_size; 6.4+: mem[MOD_TEXT].size is the text alone.
    const textSize = (await t.member(M, 'core_layout.text_size')) ?? (await t.member(M, 'mem.size'));
    const initBase = (await t.member(M, 'init_layout.base')) ?? (await memoryTypeMember(view, MOD_INIT_TEXT, 'base'));
    const initSize = (await t.member(M, 'init_layout.text_size')) ?? (await memoryTypeMember(view, MOD_INIT_TEXT, 'size'));
    const modules: LoadedModule[] = [];
    if (view.symbol('modules') === undefined || !textSize) return new ModuleSymbols(view, modules, orcFormat);
    for (const m of await listModules(view)) {
      const size = await readU32(view, m.address + BigInt(textSize.offset));
      const init = initBase && initSize ? await readU64(view, m.address + BigInt(initBase.offset)) : 0n;
      const initLength = init && initSize ? BigInt(await readU32(view, m.address + BigInt(initSize.offset))) : 0n;
      modules.push({
        name: m.name,
        address: m.address,
        textStart: m.base,
        textEnd: m.base + BigInt(size),
        ...(init && initLength ? { initText: { start: init, end: init + initLength } } : {}),
      });
    }
    return new ModuleSymbols(view, modules, orcFormat);
  }

  moduleAt(address: bigint): LoadedModule | undefined {
    return this.modules.find((m) => (address >= m.textStart && address < m.textEnd) || (m.initText && address >= m.initText.start && address < m.initText.end));
  }

  /** The function around a module address, as the kernel prints it: name+offset [module]. */
  async symbolize(address: bigint): Promise<{ function: string; offset: bigint; module: string } | undefined> {
    const mod = this.moduleAt(address);
    if (!mod) return undefined;
    let best: ModuleSymbol | undefined;
    for (const s of await this.symbolsOf(mod)) {
      if (!/^[tT]$/.test(s.type) || s.address > address) continue;
      if (!best || s.address > best.address) best = s;
    }
    return best && { function: best.name, offset: address - best.address, module: mod.name };
  }

  /** A symbol's address in any loaded module (`name`, or `module:name` to pick one). */
  async lookup(spec: string): Promise<{ address: bigint; module: string } | undefined> {
    const colon = spec.indexOf(':');
    const [only, name] = colon > 0 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [undefined, spec];
    for (const mod of this.modules) {
      if (only && mod.name !== only) continue;
      const hit = (await this.symbolsOf(mod)).find((s) => s.name === name && s.address !== 0n);
      if (hit) return { address: hit.address, module: mod.name };
    }
    return undefined;
  }

  /** The ORC entry for an address in module code (undefined outside modules, or for a module without ORC). */
  async orcFind(address: bigint): Promise<OrcEntry | undefined> {
    const mod = this.moduleAt(address);
    if (!mod) return undefined;
    let table = this.orcs.get(mod.address);
    if (!table) this.orcs.set(mod.address, (table = this.readOrc(mod)));
    return (await table)?.find(address);
  }

  symbolsOf(mod: LoadedModule): Promise<ModuleSymbol[]> {
    let p = this.symbols.get(mod.address);
    if (!p) this.symbols.set(mod.address, (p = this.readSymbols(mod)));
    return p;
  }

  private async readSymbols(mod: LoadedModule): Promise<ModuleSymbol[]> {
    const t = this.view.types;
    const kallsymsPtr = await t.member('struct module', 'kallsyms');
    const K = 'struct mod_kallsyms';
    const [symtabM, numM, strtabM, typetabM] = await Promise.all(['symtab', 'num_symtab', 'strtab', 'typetab'].map((f) => t.member(K, f)));
    if (!kallsymsPtr || !symtabM || !numM || !strtabM) return [];
    const ks = await readU64(this.view, mod.address + BigInt(kallsymsPtr.offset));
    if (ks === 0n) return [];
    const symtab = await readU64(this.view, ks + BigInt(symtabM.offset));
    const count = await readU32(this.view, ks + BigInt(numM.offset));
    const strtab = await readU64(this.view, ks + BigInt(strtabM.offset));
    if (count === 0 || count > 1_000_000) return [];
    const raw = await this.view.read(symtab, count * ELF64_SYM_SIZE);
    // The type letters: typetab in 5.x+ (one char per symbol); absent, text is judged by address.
    const types = typetabM ? await this.view.read(await readU64(this.view, ks + BigInt(typetabM.offset)), count) : undefined;
    let maxName = 0;
    for (let i = 0; i < count; i++) maxName = Math.max(maxName, raw.readUInt32LE(i * ELF64_SYM_SIZE));
    // The slack past the last name offset may cross into an unmapped page: then read just up to it.
    const names = await this.view.read(strtab, maxName + NAME_SLACK).catch(() => this.view.read(strtab, maxName + 1));
    const out: ModuleSymbol[] = [];
    for (let i = 0; i < count; i++) {
      const o = i * ELF64_SYM_SIZE;
      const nameAt = raw.readUInt32LE(o);
      const address = raw.readBigUInt64LE(o + 8);
      const end = names.indexOf(0, nameAt);
      const name = names.subarray(nameAt, end < 0 ? names.length : end).toString('latin1');
      if (!name) continue;
      const inText = this.moduleAt(address) === mod;
      out.push({ name, address, size: raw.readBigUInt64LE(o + 16), type: types ? String.fromCharCode(types[i]!) : inText ? 't' : 'd' });
    }
    return out;
  }

  private async readOrc(mod: LoadedModule): Promise<OrcTable | undefined> {
    const t = this.view.types;
    const [num, ips, entries] = await Promise.all(['arch.num_orcs', 'arch.orc_unwind_ip', 'arch.orc_unwind'].map((f) => t.member('struct module', f)));
    if (!num || !ips || !entries) return undefined;
    const n = await readU32(this.view, mod.address + BigInt(num.offset));
    if (n === 0 || n > 10_000_000) return undefined;
    const ipTable = await readU64(this.view, mod.address + BigInt(ips.offset));
    const entryTable = await readU64(this.view, mod.address + BigInt(entries.offset));
    return OrcTable.fromBuffers(ipTable, await this.view.read(ipTable, n * 4), await this.view.read(entryTable, n * 6), this.orcFormat);
  }
}

/** 6.4+'s `enum mod_mem_type`: MOD_TEXT 0 … MOD_INIT_TEXT 4 (kernel/module/internal.h; unchanged through 6.12). */
const MOD_INIT_TEXT = 4;

/** A field of `mod->mem[type]` (6.4+), where KernelTypes.member() reaches only element 0. */
async function memoryTypeMember(view: KernelView, type: number, field: 'base' | 'size'): Promise<{ offset: number; size: number } | undefined> {
  const mem = await view.types.member('struct module', 'mem');
  const inner = await view.types.member('struct module_memory', field);
  if (!mem || !inner) return undefined;
  const element = await view.types.sizeOf('struct module_memory');
  return { offset: mem.offset + type * element + inner.offset, size: inner.size };
}
