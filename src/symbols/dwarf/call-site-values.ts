import { dieRanges } from './address-ranges.js';
import { DW_AT, DW_TAG } from './constants.js';
import type { Die } from './die.js';
import type { DwarfInfo } from './dwarf-info.js';
import { evaluateLocation, type ExpressionContext } from './location-expression.js';

/** DWARF 5's call-site tags and attributes, and the GNU extensions GCC emitted before them. */
const CALL_SITE_TAGS = new Set([DW_TAG.call_site, 0x4109]);
const CALL_SITE_PARAMETER_TAGS = new Set([0x49, 0x410a]);
const DW_AT_call_return_pc = 0x7d;
const DW_AT_call_value = 0x7e;
const DW_AT_call_origin = 0x7f;
const DW_AT_GNU_call_site_value = 0x2111;

/** The register a single-operation location names (DW_OP_reg0..31, DW_OP_regx), else undefined. */
export function singleRegister(expr: Buffer | undefined): number | undefined {
  if (!expr || expr.length === 0) return undefined;
  if (expr.length === 1 && expr[0]! >= 0x50 && expr[0]! <= 0x6f) return expr[0]! - 0x50;
  if (expr[0] === 0x90) {
    let v = 0;
    let shift = 0;
    for (let i = 1; i < expr.length; i++) {
      v |= (expr[i]! & 0x7f) << shift;
      shift += 7;
      if ((expr[i]! & 0x80) === 0) return i === expr.length - 1 ? v : undefined;
    }
  }
  return undefined;
}

/**
 * What the caller passed in registers, from its DW_TAG_call_site for the call that returns to
 * `returnAddress` (gdb's entry values: `dfd=dfd@entry=-100`). Each DW_AT_call_value is evaluated
 * in the caller's frame; values it cannot give are left out. The call site must name the callee
 * (a direct call to `calleeEntry` or to a function named `calleeName`): an indirect call proves nothing.
 */
export async function callSiteValues(dwarf: DwarfInfo, returnAddress: bigint, callee: { entry: bigint; name?: string }, caller: ExpressionContext): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  const unit = await dwarf.unitForAddress(returnAddress - 1n);
  if (!unit) return out;
  const root = await unit.scopes();
  const base = typeof root.attrs.get(DW_AT.low_pc) === 'bigint' ? (root.attrs.get(DW_AT.low_pc) as bigint) : 0n;
  let fn: Die | undefined;
  for (const child of root.children) {
    if (child.tag !== DW_TAG.subprogram) continue;
    if ((await dieRanges(child, unit, dwarf.sections, base)).some((r) => r.start <= returnAddress - 1n && returnAddress - 1n < r.end)) {
      fn = child;
      break;
    }
  }
  const full = fn && (await unit.subtree(fn.offset));
  if (!full) return out;
  let site: Die | undefined;
  const stack = [full];
  while (stack.length && !site) {
    const d = stack.pop()!;
    for (const c of d.children) {
      if (CALL_SITE_TAGS.has(c.tag)) {
        const ret = c.attrs.get(DW_AT_call_return_pc) ?? c.attrs.get(DW_AT.low_pc);
        if (ret === returnAddress) {
          site = c;
          break;
        }
      } else if (c.children.length) stack.push(c);
    }
  }
  if (!site) return out;
  const originRef = site.attrs.get(DW_AT_call_origin) ?? site.attrs.get(DW_AT.abstract_origin);
  const origin = typeof originRef === 'number' ? await dwarf.dieAt(originRef, unit) : undefined;
  if (!origin) return out;
  const low = origin.attrs.get(DW_AT.low_pc);
  const named = callee.name !== undefined && (await dwarf.nameOf(origin, unit)) === callee.name;
  if (!(low === callee.entry || named)) return out;
  for (const p of site.children) {
    if (!CALL_SITE_PARAMETER_TAGS.has(p.tag)) continue;
    const regno = singleRegister(asBuffer(p.attrs.get(DW_AT.location)));
    const valueExpr = asBuffer(p.attrs.get(DW_AT_call_value) ?? p.attrs.get(DW_AT_GNU_call_site_value));
    if (regno === undefined || !valueExpr) continue;
    try {
      const loc = await evaluateLocation(valueExpr, caller);
      const value = loc.kind === 'memory' ? loc.address : loc.kind === 'value' ? loc.value : loc.kind === 'register' ? caller.readRegister(loc.regno) : undefined;
      if (value !== undefined) out.set(regno, value);
    } catch {
      // A value the caller's frame cannot give (a register nobody saved): that parameter has no entry value.
    }
  }
  return out;
}

function asBuffer(v: unknown): Buffer | undefined {
  return Buffer.isBuffer(v) ? v : undefined;
}
