import { dieRanges } from './address-ranges.js';
import { singleRegister } from './call-site-values.js';
import { DW_AT, DW_TAG } from './constants.js';
import { attrNumber, attrString, type Die } from './die.js';
import type { DwarfInfo, FrameArgument } from './dwarf-info.js';
import type { DwarfUnit } from './dwarf-unit.js';
import { evaluateLocation, type ExpressionContext, type Location } from './location-expression.js';
import { locationAt } from './location-lists.js';
import { stripTypedefs, typeName, typeSize } from './type-names.js';

/** The formal parameters (or, with DW_TAG_variable, the locals) of a function scope, with values read through their locations at `pc`. */
export async function frameArguments(dwarf: DwarfInfo, scope: Die, unit: DwarfUnit, pc: bigint, ctx: ExpressionContext, chain: Die[], tag: number): Promise<FrameArgument[]> {
  // The scope tree skips parameters: read the scope's full subtree.
  const full = await unit.subtree(scope.offset);
  if (!full) return [];
  const root = await unit.rootOnly();
  const base = typeof root.attrs.get(DW_AT.low_pc) === 'bigint' ? (root.attrs.get(DW_AT.low_pc) as bigint) : 0n;
  const resolve = (off: number) => dwarf.dieAt(off, unit);
  // The frame base belongs to the out-of-line function (chain[0]), inlined scopes share it.
  const fn = (await unit.subtree(chain[0]!.offset)) ?? full;
  const frameBase = async () => {
    const fb = fn.attrs.get(DW_AT.frame_base);
    if (!Buffer.isBuffer(fb)) return undefined;
    const loc = await evaluateLocation(fb, ctx);
    return loc.kind === 'memory' ? loc.address : loc.kind === 'value' ? loc.value : undefined;
  };
  const out: FrameArgument[] = [];
  // Variables of the scope, and of the lexical blocks inside it that hold pc (not of inlined callees).
  const candidates: Die[] = [];
  const collect = async (d: Die): Promise<void> => {
    for (const c of d.children) {
      if (c.tag === tag) candidates.push(c);
      else if (tag === DW_TAG.variable && c.tag === DW_TAG.lexical_block && (await dieRanges(c, unit, dwarf.sections, base)).some((r) => r.start <= pc && pc < r.end)) await collect(c);
    }
  };
  await collect(full);
  for (const p of candidates) {
    const origin = typeof p.attrs.get(DW_AT.abstract_origin) === 'number' ? await resolve(p.attrs.get(DW_AT.abstract_origin) as number) : undefined;
    const name = attrString(p, DW_AT.name) ?? (origin && attrString(origin, DW_AT.name)) ?? '?';
    const typeRef = p.attrs.get(DW_AT.type) ?? origin?.attrs.get(DW_AT.type);
    const type = typeof typeRef === 'number' ? await resolve(typeRef) : undefined;
    let expr: Buffer | undefined;
    const loc = p.attrs.get(DW_AT.location);
    if (Buffer.isBuffer(loc)) expr = loc;
    else if (loc !== undefined) expr = await locationAt(dwarf.sections, unit, p.forms.get(DW_AT.location) ?? 0, Number(loc), pc, base);
    let value: string;
    if (p.attrs.has(DW_AT.const_value)) value = String(p.attrs.get(DW_AT.const_value));
    else if (!expr) value = '<optimized out>';
    else value = await formatValue(await evaluateLocation(expr, { ...ctx, frameBase }), type, ctx, resolve);
    const arg: FrameArgument = { name, type: await typeName(type, resolve), value };
    // gdb's entry value: a parameter of an out-of-line function that arrived in a register the caller's call site describes.
    if (tag === DW_TAG.formal_parameter && scope.tag === DW_TAG.subprogram && ctx.callSiteValue && loc !== undefined) {
      const entryPc = fn.attrs.get(DW_AT.low_pc);
      // A location list that cannot be read at the entry gives no entry value: the value alone is printed.
      const atEntry = Buffer.isBuffer(loc) ? loc : typeof entryPc === 'bigint' ? await locationAt(dwarf.sections, unit, p.forms.get(DW_AT.location) ?? 0, Number(loc), entryPc, base).catch(() => undefined) : undefined;
      const regno = singleRegister(atEntry);
      const passed = regno === undefined ? undefined : ctx.callSiteValue(regno);
      if (passed !== undefined) arg.entryValue = await formatValue({ kind: 'value', value: passed }, type, ctx, resolve);
    }
    out.push(arg);
  }
  return out;
}

/** A value as gdb prints it in a frame line. */
async function formatValue(loc: Location, type: Die | undefined, ctx: ExpressionContext, resolve: (off: number) => Promise<Die | undefined>): Promise<string> {
  if (loc.kind === 'optimized-out') return '<optimized out>';
  if (loc.kind === 'unavailable') return '<unavailable>';
  const t = await stripTypedefs(type, resolve);
  const size = (await typeSize(type, resolve)) ?? 8;
  let raw: bigint | undefined;
  try {
    if (loc.kind === 'register') {
      const r = ctx.readRegister(loc.regno);
      if (r === undefined) return '<unavailable>';
      raw = size >= 8 ? r : r & ((1n << BigInt(size * 8)) - 1n);
    } else if (loc.kind === 'value') raw = size >= 8 ? loc.value : loc.value & ((1n << BigInt(size * 8)) - 1n);
    else if (loc.kind === 'implicit') raw = loc.bytes.length <= 8 ? readLe(loc.bytes) : undefined;
    else if (loc.kind === 'memory') {
      if (!t || (t.tag !== DW_TAG.base_type && t.tag !== DW_TAG.pointer_type && t.tag !== DW_TAG.enumeration_type) || size > 8) return '{...}';
      raw = readLe(await ctx.readMemory(loc.address, size));
    } else return '{...}';
  } catch {
    return '<error reading the value>';
  }
  if (raw === undefined) return '{...}';
  if (!t) return `0x${raw.toString(16)}`;
  if (t.tag === DW_TAG.pointer_type) {
    const target = await stripTypedefs(typeof t.attrs.get(DW_AT.type) === 'number' ? await resolve(t.attrs.get(DW_AT.type) as number) : undefined, resolve);
    const isChar = target?.tag === DW_TAG.base_type && /char$/.test(attrString(target, DW_AT.name) ?? '') && attrNumber(target, DW_AT.byte_size) === 1;
    if (isChar && raw !== 0n) {
      try {
        const bytes = await ctx.readMemory(raw, 64);
        const end = bytes.indexOf(0);
        return `0x${raw.toString(16)} ${JSON.stringify(bytes.subarray(0, end < 0 ? 64 : end).toString('latin1'))}${end < 0 ? '...' : ''}`;
      } catch {
        return `0x${raw.toString(16)}`;
      }
    }
    return `0x${raw.toString(16)}`;
  }
  if (t.tag === DW_TAG.enumeration_type) {
    for (const e of t.children) if (BigInt(attrNumber(e, DW_AT.const_value) ?? -1) === raw) return attrString(e, DW_AT.name) ?? String(raw);
    return String(raw);
  }
  const enc = attrNumber(t, DW_AT.encoding);
  if (enc === 0x02) return raw ? 'true' : 'false';
  const signed = enc === 0x05 || enc === 0x06 || enc === 0x0d;
  return signed ? String(BigInt.asIntN(size * 8, raw)) : String(raw);
}

function readLe(b: Buffer): bigint {
  let v = 0n;
  for (let i = Math.min(b.length, 8) - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}
