import { kdiveCacheDir } from '../../cache-dir.js';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import path from 'node:path';
import { FormatError } from '../../errors.js';
import type { ProgressReporter } from '../../progress/progress.js';
import { stringAt, ByteCursor } from './byte-cursor.js';
import { DW_AT, DW_FORM, DW_TAG } from './constants.js';
import type { DwarfSections } from './dwarf-sections.js';
import { parseUnitHeader } from './dwarf-unit.js';
import { skipForm as skipFormInline } from './form-sizes.js';

/**
 * What the index records of a named top-level DIE. A 'declared-variable' is an `extern` declaration:
 * the only DWARF some variables have (jiffies is defined by the linker script), and where their type is.
 */
export type IndexedKind = 'type' | 'function' | 'variable' | 'declared-variable';

const KIND_CODE: Record<IndexedKind, number> = { type: 0, function: 1, variable: 2, 'declared-variable': 3 };
const TYPE_TAGS = new Set<number>([DW_TAG.structure_type, DW_TAG.union_type, DW_TAG.enumeration_type, DW_TAG.typedef, DW_TAG.base_type]);
const INDEX_MAGIC = 'kdive-dwarf-index 4';
/** How many bytes of .debug_info are read per chunk (whole units at a time). */
const CHUNK = 16 << 20;

/**
 * Names of every top-level type, function and variable definition with its DIE offset: one pass
 * over .debug_info that decodes only names and skips subtrees through DW_AT_sibling, kept on disk
 * by build-id so the next run loads it at once (what .gdb_index does for gdb).
 *
 * On disk it is text, a line per name (`name TAB kind:offset,...`), and a cached index is not
 * parsed at all: a look-up finds its line with one indexOf, so loading costs only the file read.
 */
export class DwarfNameIndex {
  private constructor(
    private readonly names: Map<string, number[]> | undefined,
    private readonly text: string | undefined,
    /** Offsets of every unit in .debug_info, when known (saves reading each unit header). */
    readonly unitOffsets: number[] | undefined,
  ) {}

  /** DIE offsets of definitions with this name and kind. */
  lookup(name: string, kind: IndexedKind): number[] {
    const flat = this.names ? this.names.get(name) : this.fromText(name);
    if (!flat) return [];
    const out: number[] = [];
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === KIND_CODE[kind]) out.push(flat[i + 1]!);
    return out;
  }

  private fromText(name: string): number[] | undefined {
    const at = this.text!.indexOf(`\n${name}\t`);
    if (at < 0) return undefined;
    const start = at + name.length + 2;
    const end = this.text!.indexOf('\n', start);
    const out: number[] = [];
    for (const pair of this.text!.slice(start, end < 0 ? undefined : end).split(',')) {
      const [k, o] = pair.split(':');
      out.push(Number(k), Number(o));
    }
    return out;
  }

  static cachePath(buildId: string, cacheDir = kdiveCacheDir()): string {
    return path.join(cacheDir, 'index', `${buildId}.idx`);
  }

  /** Loads the cached index for this build-id, or builds it (with progress) and caches it. */
  static async load(sections: DwarfSections, buildId: string | undefined, progress?: ProgressReporter): Promise<DwarfNameIndex> {
    const cached = await DwarfNameIndex.loadCached(buildId);
    if (cached) return cached;
    const index = await DwarfNameIndex.build(sections, progress);
    if (buildId) {
      const target = DwarfNameIndex.cachePath(buildId);
      try {
        await mkdir(path.dirname(target), { recursive: true });
        const tmp = `${target}.${process.pid}.tmp`;
        await writeFile(tmp, index.serialize(buildId));
        await rename(tmp, target);
      } catch {
        // a read-only cache costs a rebuild next time, nothing more
      }
    }
    return index;
  }

  /** The on-disk text: a header, the unit offsets, a line per name. */
  serialize(buildId: string): string {
    const lines = [`${INDEX_MAGIC} ${buildId}`, `units ${(this.unitOffsets ?? []).join(',')}`];
    for (const [name, flat] of this.names!) {
      const pairs: string[] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push(`${flat[i]}:${flat[i + 1]}`);
      lines.push(`${name}\t${pairs.join(',')}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** The cached index for this build-id if there is one; never builds. */
  static async loadCached(buildId: string | undefined): Promise<DwarfNameIndex | undefined> {
    if (!buildId) return undefined;
    let text: string;
    try {
      text = await readFile(DwarfNameIndex.cachePath(buildId), 'utf8');
    } catch {
      return undefined;
    }
    const first = text.indexOf('\n');
    const second = text.indexOf('\n', first + 1);
    if (text.slice(0, first) !== `${INDEX_MAGIC} ${buildId}` || !text.startsWith('units ', first + 1)) return undefined;
    const units = text.slice(first + 7, second).split(',').filter(Boolean).map(Number);
    return new DwarfNameIndex(undefined, text, units);
  }

  /** An index of just some units (the first ones of a file, where the core types are). */
  static async buildFromUnits(sections: DwarfSections, unitOffsets: number[]): Promise<DwarfNameIndex> {
    const str = await sections.section('.debug_str');
    const lineStr = await sections.section('.debug_line_str');
    const names = new Map<string, number[]>();
    const add = limitedAdder(names);
    for (const off of unitOffsets) {
      const head = await sections.readPart('.debug_info', off, Math.min(12, sections.sectionSize('.debug_info') - off));
      const { length, offsetSize } = new ByteCursor(head, 0, '.debug_info', sections.file, off).initialLength();
      await indexUnit(await sections.readPart('.debug_info', off, length + (offsetSize === 8 ? 12 : 4)), off, sections, str, lineStr, add);
    }
    return new DwarfNameIndex(names, undefined, undefined);
  }

  /** `workers`: threads to index on (default: one per core, at most 4; 1 indexes in this thread). */
  static async build(sections: DwarfSections, progress?: ProgressReporter, opts: { workers?: number } = {}): Promise<DwarfNameIndex> {
    const total = sections.sectionSize('.debug_info');
    const task = progress?.start(`indexing the DWARF of ${path.basename(sections.file)}`, total, 'bytes');
    const workers = opts.workers ?? Math.min(4, os.availableParallelism());
    // Worker threads that cannot start (a loader they do not inherit, a resource limit): the same
    // index is built in this thread below, only slower.
    const parallel = total >= PARALLEL_FROM && workers > 1 ? await indexInWorkers(sections, total, workers, (done) => task?.update(done)).catch(() => undefined) : undefined;
    const { names, units } = parallel ?? (await indexRange(sections, 0, total, (done) => task?.update(done)));
    task?.finish();
    return new DwarfNameIndex(names, undefined, units);
  }

  /** Merges ranges indexed apart, in file order: the same entries one pass would keep. */
  static merge(parts: IndexedRange[]): IndexedRange {
    const names = new Map<string, number[]>();
    const add = limitedAdder(names);
    const units: number[] = [];
    for (const part of parts) {
      for (const [name, flat] of part.names) for (let i = 0; i < flat.length; i += 2) add(name, flat[i]!, flat[i + 1]!);
      units.push(...part.units);
    }
    return { names, units };
  }
}

/** The names and unit offsets of one stretch of .debug_info. */
export interface IndexedRange {
  names: Map<string, number[]>;
  units: number[];
}

/** Below this much .debug_info, starting workers costs more than it saves. */
const PARALLEL_FROM = 32 << 20;

/**
 * The units whose headers start in [start, end) of .debug_info, indexed in one pass (whole units
 * read CHUNK bytes at a time). `onProgress` gets the bytes done since `start`.
 */
export async function indexRange(sections: DwarfSections, start: number, end: number, onProgress?: (done: number) => void): Promise<IndexedRange> {
  const total = sections.sectionSize('.debug_info');
  const str = await sections.section('.debug_str');
  const lineStr = await sections.section('.debug_line_str');
  const names = new Map<string, number[]>();
  const add = limitedAdder(names);
  const units: number[] = [];
  let offset = start;
  while (offset < end) {
    const chunk = await sections.readPart('.debug_info', offset, Math.min(CHUNK, total - offset));
    let pos = 0;
    for (;;) {
      if (offset + pos >= end) break;
      if (pos + 12 > chunk.length && offset + pos + 12 <= total) break;
      const head = new ByteCursor(chunk, pos, '.debug_info', sections.file, offset);
      const { length, offsetSize } = head.initialLength();
      const unitLen = length + (offsetSize === 8 ? 12 : 4);
      if (pos + unitLen > chunk.length) {
        if (pos === 0) {
          // One unit larger than a chunk: read it alone.
          const whole = await sections.readPart('.debug_info', offset, unitLen);
          units.push(offset);
          await indexUnit(whole, offset, sections, str, lineStr, add);
          pos = unitLen;
        }
        break;
      }
      units.push(offset + pos);
      await indexUnit(chunk.subarray(pos, pos + unitLen), offset + pos, sections, str, lineStr, add);
      pos += unitLen;
    }
    offset += pos;
    onProgress?.(offset - start);
  }
  return { names, units };
}

/** Where the unit at or after `target` starts (headers walked from 0, 12 bytes each). */
async function unitBoundaryFrom(sections: DwarfSections, target: number, total: number): Promise<number> {
  let off = 0;
  while (off < target && off < total) {
    const head = await sections.readPart('.debug_info', off, Math.min(12, total - off));
    const { length, offsetSize } = new ByteCursor(head, 0, '.debug_info', sections.file, off).initialLength();
    off += length + (offsetSize === 8 ? 12 : 4);
  }
  return Math.min(off, total);
}

/**
 * `count` worker threads, each on its own stretch of units: on a distro vmlinux the index is
 * CPU-bound name decoding. Rejects when workers cannot start; the caller then goes on alone.
 */
async function indexInWorkers(sections: DwarfSections, total: number, count: number, onProgress: (done: number) => void): Promise<IndexedRange> {
  const bounds = [0];
  for (let i = 1; i < count; i++) bounds.push(await unitBoundaryFrom(sections, Math.floor((total * i) / count), total));
  bounds.push(total);
  const done = new Array<number>(count).fill(0);
  const workers: Worker[] = [];
  try {
    const parts = await Promise.all(
      bounds.slice(0, -1).map(
        (start, i) =>
          new Promise<IndexedRange>((resolve, reject) => {
            const worker = new Worker(new URL('./name-index-worker.js', import.meta.url), { workerData: { file: sections.file, start, end: bounds[i + 1] } });
            workers.push(worker);
            worker.on('message', (m: { done?: number; result?: IndexedRange; error?: string }) => {
              if (m.done !== undefined) {
                done[i] = m.done;
                onProgress(done.reduce((a, b) => a + b, 0));
              } else if (m.result) resolve(m.result);
              else reject(new FormatError(sections.file, start, m.error ?? 'the index worker failed'));
            });
            worker.on('error', reject);
            worker.on('exit', (code) => reject(new Error(`index worker exited with ${code}`)));
          }),
      ),
    );
    return DwarfNameIndex.merge(parts);
  } finally {
    for (const w of workers) void w.terminate();
  }
}

/**
 * Each header type is defined again in every unit that includes it (struct task_struct: 1,667
 * times); a few definitions per name and kind are enough to find one, and keep the cache small.
 */
const KEEP_PER_NAME = 4;

function limitedAdder(names: Map<string, number[]>): (name: string, kind: number, offset: number) => void {
  return (name, kind, offset) => {
    const list = names.get(name);
    if (!list) {
      names.set(name, [kind, offset]);
      return;
    }
    let same = 0;
    for (let i = 0; i < list.length; i += 2) if (list[i] === kind) same++;
    // One declaration gives the type; every unit that uses the variable repeats it.
    if (same < (kind === KIND_CODE['declared-variable'] ? 1 : KEEP_PER_NAME)) list.push(kind, offset);
  };
}

async function indexUnit(
  bytes: Buffer,
  unitOffset: number,
  sections: DwarfSections,
  str: Buffer | undefined,
  lineStr: Buffer | undefined,
  add: (name: string, kind: number, offset: number) => void,
): Promise<void> {
  const h = parseUnitHeader(bytes, unitOffset, sections.file);
  if (h.unitType !== 1 && h.unitType !== 3) return; // compile and partial units only
  const abbrevs = await sections.abbrevs(h.abbrevOffset);
  const c = new ByteCursor(bytes, h.firstDie - unitOffset, '.debug_info', sections.file, unitOffset);
  const end = bytes.length;
  let depth = 0;
  // Definitions that name themselves through DW_AT_specification (a variable defined in a .c file
  // and declared in a header): resolved against the declarations' names when the unit is done.
  const declared = new Map<number, string>();
  const bySpecification: { spec: number; kind: number; offset: number }[] = [];
  while (c.pos < end) {
    const dieOffset = unitOffset + c.pos;
    const code = c.uleb();
    if (code === 0) {
      if (--depth <= 0) break;
      continue;
    }
    const ab = abbrevs.get(code);
    if (!ab) return c.fail(`DIE at 0x${dieOffset.toString(16)} uses abbreviation ${code}, which the unit's table does not have`, c.pos - 1);
    const wanted = depth === 1 && (TYPE_TAGS.has(ab.tag) || ab.tag === DW_TAG.subprogram || ab.tag === DW_TAG.variable);
    let name: string | undefined;
    let sibling: number | undefined;
    let declaration = false;
    let hasCode = false;
    let specification: number | undefined;
    for (const a of ab.attrs) {
      const form = a.form;
      if (wanted && a.at === DW_AT.name) {
        if (form === DW_FORM.strp && str) name = stringAt(str, c.offset(h.offsetSize), '.debug_str', sections.file);
        else if (form === DW_FORM.line_strp && lineStr) name = stringAt(lineStr, c.offset(h.offsetSize), '.debug_line_str', sections.file);
        else if (form === DW_FORM.string) name = c.cstring();
        else skip(c, form, h);
      } else if (a.at === DW_AT.sibling && (form === DW_FORM.ref4 || form === DW_FORM.ref2 || form === DW_FORM.ref1 || form === DW_FORM.ref_udata || form === DW_FORM.ref8)) {
        sibling = form === DW_FORM.ref4 ? c.u32() : form === DW_FORM.ref2 ? c.u16() : form === DW_FORM.ref1 ? c.u8() : form === DW_FORM.ref8 ? c.u64n() : c.uleb();
      } else if (wanted && a.at === DW_AT.declaration) {
        declaration = form === DW_FORM.flag_present || (form === DW_FORM.flag ? c.u8() !== 0 : (skip(c, form, h), false));
      } else if (wanted && a.at === DW_AT.specification && (form === DW_FORM.ref4 || form === DW_FORM.ref_udata)) {
        specification = unitOffset + (form === DW_FORM.ref4 ? c.u32() : c.uleb());
      } else {
        if (wanted && (a.at === DW_AT.low_pc || a.at === DW_AT.ranges || a.at === DW_AT.location)) hasCode = true;
        skip(c, form, h);
      }
    }
    if (wanted && name && declaration) {
      declared.set(dieOffset, name);
      if (ab.tag === DW_TAG.variable) add(name, KIND_CODE['declared-variable'], dieOffset);
    }
    if (wanted && !name && specification !== undefined && hasCode) bySpecification.push({ spec: specification, kind: ab.tag === DW_TAG.subprogram ? 1 : 2, offset: dieOffset });
    if (wanted && name && !declaration) {
      if (TYPE_TAGS.has(ab.tag)) add(name, 0, dieOffset);
      else if (ab.tag === DW_TAG.subprogram && hasCode) add(name, 1, dieOffset);
      else if (ab.tag === DW_TAG.variable && hasCode) add(name, 2, dieOffset);
    }
    if (ab.hasChildren) {
      // Below the top level nothing is indexed: jump over the subtree when the producer says where it ends.
      if (depth >= 1 && sibling !== undefined && sibling > 0 && sibling <= end) c.pos = sibling;
      else depth++;
    } else if (depth === 0) break;
  }
  for (const d of bySpecification) {
    const name = declared.get(d.spec);
    if (name) add(name, d.kind, d.offset);
  }
}

function skip(c: ByteCursor, form: number, h: { addressSize: number; offsetSize: 4 | 8; version: number }): void {
  skipFormInline(c, form, h.addressSize, h.offsetSize, h.version);
}

