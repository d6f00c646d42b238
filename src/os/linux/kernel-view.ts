import { KdiveError, NotFoundError } from '../../errors.js';
import { strip, sizeOf, type CType } from '../../expr/c-types.js';
import { findMember } from '../../expr/expression-engine.js';
import type { ProgramTypes } from '../../expr/program-types.js';

/**
 * What the kernel helpers read a running kernel through: its memory, its symbols at run-time
 * addresses, and struct layouts from its debug info (never hard-coded offsets).
 */
export interface KernelView {
  read(address: bigint, length: number): Promise<Buffer>;
  /** A symbol's run-time address (slid; per-CPU symbols are offsets and are not). */
  symbol(name: string): bigint | undefined;
  types: KernelTypes;
}

export async function readU64(view: KernelView, address: bigint): Promise<bigint> {
  return (await view.read(address, 8)).readBigUInt64LE(0);
}

export async function readU32(view: KernelView, address: bigint): Promise<number> {
  return (await view.read(address, 4)).readUInt32LE(0);
}

export function requireSymbol(view: KernelView, name: string): bigint {
  const a = view.symbol(name);
  if (a === undefined) throw new NotFoundError(`this kernel has no symbol '${name}'`);
  return a;
}

/** A NUL-terminated string from a fixed-size char array. */
export function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('latin1');
}

/** Struct member offsets and sizes from the debug info (DWARF or BTF), cached per struct and member path. */
export class KernelTypes {
  private readonly offsets = new Map<string, { offset: number; size: number } | null>();
  private readonly structs = new Map<string, Promise<CType | undefined>>();

  constructor(private readonly program: ProgramTypes) {}

  private struct(name: string): Promise<CType | undefined> {
    let p = this.structs.get(name);
    if (!p) {
      p = this.program.findType(name);
      this.structs.set(name, p);
    }
    return p;
  }

  /**
   * Where `path` (`tasks`, `thread_info.cpu`) lies in `struct` and how big it is; undefined if absent.
   * A member that is an array is entered at its first element (`mem.base` is `mem[0].base`: 6.4+'s
   * `struct module_memory mem[]`, whose element 0 is MOD_TEXT).
   */
  async member(structName: string, path: string): Promise<{ offset: number; size: number } | undefined> {
    const key = `${structName}:${path}`;
    if (this.offsets.has(key)) return this.offsets.get(key) ?? undefined;
    let t = await this.struct(structName);
    let offset = 0;
    let size = 0;
    for (const part of path.split('.')) {
      let s = t && strip(t);
      while (s?.kind === 'array') s = strip(s.element);
      if (!s || (s.kind !== 'struct' && s.kind !== 'union')) {
        t = undefined;
        break;
      }
      const chain = await findMember(s, part);
      if (!chain) {
        t = undefined;
        break;
      }
      for (const m of chain) offset += m.offset;
      t = chain[chain.length - 1]!.type;
      size = sizeOf(t);
    }
    const result = t ? { offset, size } : undefined;
    this.offsets.set(key, result ?? null);
    return result;
  }

  async offsetOf(structName: string, path: string): Promise<number> {
    const m = await this.member(structName, path);
    if (!m) throw new KdiveError(`this kernel's ${structName} has no member ${path}`);
    return m.offset;
  }

  async sizeOf(structName: string): Promise<number> {
    const t = await this.struct(structName);
    if (!t) throw new NotFoundError(`this kernel has no ${structName}`);
    return sizeOf(t);
  }
}
