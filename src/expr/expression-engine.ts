import type { Arch } from '../arch/arch.js';
import { X86_64 } from '../arch/x86_64/x86-64-arch.js';
import { KdiveError, NotFoundError, whenNotFound } from '../errors.js';
import type { DwarfInfo } from '../symbols/dwarf/dwarf-info.js';
import { evaluateLocation, type ExpressionContext, type Location } from '../symbols/dwarf/location-expression.js';
import { parseExpression, type Expr, type TypeSpec } from './c-expression-parser.js';
import { builtinType, INT, isCharType, isScalar, isSigned, LONG, pointerTo, sizeOf, strip, typeToString, ULONG, UINT, VOID, CHAR, type CType } from './c-types.js';
import { bytesOf, fromScalar, scalarOf, type CValue, type ValueSource } from './c-value.js';
import type { DwarfTypeBuilder } from './dwarf-type-builder.js';
import { DwarfProgramTypes } from './dwarf-program-types.js';
import type { ProgramTypes } from './program-types.js';
import { arithmeticType, findMember, promote } from './c-conversions.js';
import { baseOf, memberDecl, parseTypeText } from './type-text.js';
export { findMember } from './c-conversions.js';
import type { EvaluatedValue, NamedValue } from './evaluated-value.js';
import { elementValue, formatValue, memberValue, type PrintFormat } from './value-printer.js';
import type { EngineSymbols, ExpressionScope } from './expression-scope.js';
export type { EngineSymbols, ExpressionScope } from './expression-scope.js';

/** The C type gdb gives a register of each kind the Arch names. */
const REGISTER_TYPES: Record<'code-pointer' | 'data-pointer' | 'flags' | 'int32' | 'long', CType> = {
  'code-pointer': pointerTo({ kind: 'func', returns: VOID, params: [], variadic: false, prototyped: false }),
  'data-pointer': pointerTo(VOID),
  flags: { kind: 'int', name: 'i386_eflags', size: 4, signed: true, char: false, bool: false },
  int32: INT,
  long: LONG,
};

/**
 * gdb's expressions over the kernel's debug info (DWARF, or BTF without locals): parse, evaluate
 * to a typed value, print as gdb prints. One engine per session; `$N` history and `$name` variables live here.
 */
export class ExpressionEngine {
  /** Types, globals and functions, from DWARF or BTF. */
  readonly program: ProgramTypes;
  /** Locals need DWARF: with BTF alone there are none. */
  private readonly dwarf: DwarfInfo | undefined;
  private readonly dwarfTypes: DwarfTypeBuilder | undefined;
  private readonly history: CValue[] = [];
  private readonly convenience = new Map<string, CValue>();
  private readonly typeNames = new Map<string, boolean>();

  constructor(
    source: DwarfInfo | ProgramTypes,
    private readonly symbols: EngineSymbols,
    private readonly arch: Arch = X86_64,
  ) {
    this.program = 'format' in source ? source : new DwarfProgramTypes(source);
    this.dwarf = this.program instanceof DwarfProgramTypes ? this.program.dwarf : undefined;
    this.dwarfTypes = this.program instanceof DwarfProgramTypes ? this.program.builder : undefined;
  }

  /** Evaluates to a typed value (no history entry). */
  async evaluate(text: string, scope: ExpressionScope): Promise<CValue> {
    return this.eval(await this.parse(text, scope), scope);
  }

  /** `print[/FMT] EXPR`: the value recorded as `$N`, and gdb's text for it. */
  async print(text: string, scope: ExpressionScope, fmt?: PrintFormat): Promise<{ number: number; text: string; value: EvaluatedValue }> {
    const v = await this.evaluate(text, scope);
    // An unreadable value is an error, as in gdb (no $N is recorded); flexible arrays read nothing.
    const k = strip(v.type);
    if (k.kind !== 'void' && k.kind !== 'func' && !v.missing && !(k.kind === 'array' && !k.count)) await bytesOf(v, this.source(scope));
    this.history.push(v);
    const value = await this.describe(v, scope, fmt);
    return { number: this.history.length, text: value.text, value };
  }

  /** gdb's `whatis EXPR` (or a type name): the type as written. */
  async whatis(text: string, scope: ExpressionScope): Promise<string> {
    const asType = await this.typeNamed(text).catch(whenNotFound(undefined)); // not a type: an expression
    if (asType) return typeToString(asType);
    return typeToString((await this.evaluate(text, scope)).type);
  }

  /** gdb's `ptype EXPR|TYPE`: a struct, union or enum expanded one level, typedefs resolved. */
  async ptype(text: string, scope: ExpressionScope): Promise<string> {
    const t = (await this.typeNamed(text).catch(whenNotFound(undefined))) ?? (await this.evaluate(text, scope)).type; // not a type: an expression
    return this.expandType(t);
  }

  /** An EvaluatedValue for front ends: gdb's text, the scalar, and children read on demand. */
  async describe(v: CValue, scope: ExpressionScope, fmt?: PrintFormat): Promise<EvaluatedValue> {
    const src = this.source(scope);
    const s = strip(v.type);
    const pointee = s.kind === 'pointer' ? strip(s.target) : undefined;
    const hasChildren = !v.missing && (s.kind === 'struct' || s.kind === 'union' || (s.kind === 'array' && (s.count ?? 0) > 0) || (pointee !== undefined && (pointee.kind === 'struct' || pointee.kind === 'union')));
    const text = await formatValue(v, src, fmt).catch((e: unknown) => `<error: ${e instanceof Error ? e.message : String(e)}>`);
    // Unreadable: `text` already says why (<error: ...>); there is just no number to give.
    const scalar = isScalar(v.type) && !v.missing ? await scalarOf(v, src).catch(() => undefined) : undefined;
    return {
      text,
      type: typeToString(v.type),
      address: v.address,
      scalar,
      hasChildren,
      children: async (): Promise<NamedValue[]> => {
        if (s.kind === 'struct' || s.kind === 'union') {
          await bytesOf(v, src).catch(() => undefined); // a prefetch: each member read below reports its own failure
          const members = await s.members();
          return Promise.all(members.map(async (m, i) => ({ name: m.name || `<anonymous ${i}>`, value: await this.describe(memberValue(v, m), scope, fmt) })));
        }
        if (s.kind === 'array') {
          await bytesOf(v, src).catch(() => undefined); // a prefetch: each element read below reports its own failure
          const n = Math.min(s.count ?? 0, 1000);
          return Promise.all(Array.from({ length: n }, async (_, i) => ({ name: `[${i}]`, value: await this.describe(elementValue(v, s.element, i), scope, fmt) })));
        }
        if (s.kind === 'pointer') {
          const target = await scalarOf(v, src);
          return [{ name: `*${typeToString(v.type)}`.replace(/ \*$/, ''), value: await this.describe({ type: s.target, address: target }, scope, fmt) }];
        }
        return [];
      },
    };
  }

  private source(scope: ExpressionScope): ValueSource {
    return { readMemory: (a, n) => scope.readMemory(a, n), symbolAt: (a) => this.symbols.symbolAt(a) };
  }

  private async parse(text: string, scope: ExpressionScope): Promise<Expr> {
    // `(name) x` is a cast only when `name` is a type: find out for the few candidates first.
    const names = new Set<string>();
    for (const m of text.matchAll(/\(\s*([A-Za-z_]\w*)\s*\**\s*\)/g)) names.add(m[1]!);
    for (const m of text.matchAll(/sizeof\s*\(\s*([A-Za-z_]\w*)\s*\)/g)) names.add(m[1]!);
    for (const n of names) {
      if (this.typeNames.has(n)) continue;
      // Only classes the name for the parser: a name whose DWARF cannot be read counts as neither a
      // variable nor a type here, and evaluating it (identifier()) reports the error.
      const isVariable = (await this.lookupLocal(n, scope)) !== undefined || (await this.program.globalVariable(n).catch(() => undefined)) !== undefined;
      this.typeNames.set(n, !isVariable && (builtinType(n) !== undefined || (await this.program.findType(n).catch(() => undefined)) !== undefined)); // the same for the type lookup
    }
    return parseExpression(text, (n) => this.typeNames.get(n) ?? false);
  }

  private async typeNamed(text: string): Promise<CType | undefined> {
    const m = /^\s*((?:struct|union|enum)\s+\w+|[A-Za-z_][\w ]*?)\s*(\**)\s*$/.exec(text);
    if (!m) return undefined;
    if (!/^(struct|union|enum)\s/.test(m[1]!) && builtinType(m[1]!) === undefined) {
      // A bare word is a type only if no variable has that name.
      // (Unreadable DWARF for it: taken as no variable; the type lookup below then answers.)
      if ((await this.program.globalVariable(m[1]!).catch(() => undefined)) !== undefined) return undefined;
    }
    return this.resolveType({ base: m[1]!.trim(), pointers: m[2]!.length });
  }

  private async resolveType(spec: TypeSpec): Promise<CType> {
    let t: CType | undefined = /^(struct|union|enum)\s/.test(spec.base) ? undefined : builtinType(spec.base);
    if (!t) {
      t = await this.program.findType(spec.base);
      if (!t) throw new NotFoundError(`No symbol "${spec.base.replace(/^(struct|union|enum)\s+/, '')}" in current context.`);
    }
    for (let i = 0; i < spec.pointers; i++) t = pointerTo(t);
    return t;
  }

  private async expandType(t: CType): Promise<string> {
    let s = t;
    while (s.kind === 'typedef') s = s.target;
    const full = typeToString(s);
    const inner = baseOf(s);
    const body = await this.body(inner);
    if (!body) return full;
    // `const struct sched_class *`: the body goes where the struct's name is, qualifiers and stars stay.
    return full.replace(typeToString(inner), body);
  }

  private async body(t: CType): Promise<string | undefined> {
    const s = strip(t);
    if (s.kind === 'struct' || s.kind === 'union') {
      const lines = [`${s.kind} ${s.name ? `${s.name} ` : ''}{`];
      for (const m of await s.members()) lines.push(`    ${memberDecl(m.type, m.name)}${m.bitSize !== undefined ? ` : ${m.bitSize}` : ''};`);
      lines.push('}');
      return lines.join('\n');
    }
    if (s.kind === 'enum') return `enum ${s.name ? `${s.name} ` : ''}{${s.values.map((v) => v.name).join(', ')}}`;
    return undefined;
  }

  private async lookupLocal(name: string, scope: ExpressionScope): Promise<CValue | undefined> {
    if (!scope.frame || !this.dwarf || !this.dwarfTypes) return undefined;
    const pc = scope.frame.lookupPc - this.symbols.slide();
    // No readable scope at pc (assembly, code whose DWARF kdive cannot read): no locals, and the name
    // is looked up as a global next.
    const vars = await this.dwarf.variablesAt(pc).catch(() => []);
    const v = vars.find((x) => x.name === name);
    if (!v) return undefined;
    const type = v.typeOffset !== undefined ? await this.dwarfTypes.fromOffset(v.typeOffset) : INT;
    if (v.constValue !== undefined) return Buffer.isBuffer(v.constValue) ? { type, bytes: v.constValue } : fromScalar(type, BigInt(v.constValue));
    if (!v.location) return { type, missing: '<optimized out>' };
    const ctx = scope.frame.context;
    const frameBase = async () => {
      if (!v.frameBase) return undefined;
      const loc = await evaluateLocation(v.frameBase, ctx);
      return loc.kind === 'memory' ? loc.address : loc.kind === 'value' ? loc.value : undefined;
    };
    return this.fromLocation(await evaluateLocation(v.location, { ...ctx, frameBase }), type, ctx);
  }

  private async fromLocation(loc: Location, type: CType, ctx: ExpressionContext): Promise<CValue> {
    const size = sizeOf(type);
    switch (loc.kind) {
      case 'memory':
        return { type, address: loc.address };
      case 'register': {
        const r = ctx.readRegister(loc.regno);
        return r === undefined ? { type, missing: '<unavailable>' } : fromScalar(type, r);
      }
      case 'value':
        return fromScalar(type, loc.value);
      case 'implicit':
        return { type, bytes: Buffer.concat([loc.bytes, Buffer.alloc(Math.max(0, size - loc.bytes.length))]).subarray(0, size) };
      case 'pieces': {
        const parts: Buffer[] = [];
        for (const p of loc.pieces) {
          const pv = await this.fromLocation(p.location, { kind: 'int', name: 'piece', size: p.size, signed: false, char: false, bool: false }, ctx);
          if (pv.missing) return { type, missing: pv.missing };
          parts.push(pv.bytes ?? (await ctx.readMemory(pv.address!, p.size)));
        }
        return { type, bytes: Buffer.concat(parts) };
      }
      case 'optimized-out':
        return { type, missing: '<optimized out>' };
      default:
        return { type, missing: '<unavailable>' };
    }
  }

  private async identifier(name: string, scope: ExpressionScope): Promise<CValue> {
    const local = await this.lookupLocal(name, scope);
    if (local) return local;
    const global = await this.program.globalVariable(name); // undefined when there is none; a read error is reported
    if (global) {
      const type = global.type;
      const link = global.address ?? (this.symbols.addressOf(name) !== undefined ? this.symbols.addressOf(name)! - this.symbols.slide() : undefined);
      if (link === undefined) throw new KdiveError(`'${name}' has no address in this kernel (optimized out)`);
      return { type, address: this.symbols.isPerCpu(link) ? link : link + this.symbols.slide() };
    }
    const special = await scope.identifier?.(name);
    if (special) return fromScalar(await this.resolveType(parseTypeText(special.type)), special.value);
    const fn = await this.program.functionType(name);
    const fnAddress = fn && this.symbols.addressOf(name);
    if (fn && fnAddress !== undefined) return { type: fn, address: fnAddress };
    const bare = this.symbols.addressOf(name);
    if (bare !== undefined) throw new UnknownTypeError(name, bare);
    throw new NotFoundError(`No symbol "${name}" in current context.`);
  }

  private register(name: string, scope: ExpressionScope): CValue {
    const reg = this.arch.registerAliases[name] ?? name;
    const v = scope.readRegister(reg);
    if (v === undefined) return { type: VOID };
    return fromScalar(REGISTER_TYPES[this.arch.registerKind(reg)], v);
  }

  private async eval(e: Expr, scope: ExpressionScope): Promise<CValue> {
    const src = this.source(scope);
    switch (e.kind) {
      case 'number': {
        const fits32 = e.value <= 0x7fffffffn;
        const type = e.long || !fits32 ? (e.unsigned || e.value > 0x7fffffffffffffffn ? ULONG : LONG) : e.unsigned ? UINT : INT;
        return fromScalar(type, e.value);
      }
      case 'char':
        return fromScalar(CHAR, e.value);
      case 'string': {
        const bytes = Buffer.from(`${e.value}\0`, 'latin1');
        return { type: { kind: 'array', element: CHAR, count: bytes.length }, bytes };
      }
      case 'ident':
        return this.identifier(e.name, scope);
      case 'dollar': {
        if (e.name === '') return this.history[this.history.length - 1] ?? { type: VOID };
        if (/^\d+$/.test(e.name)) {
          const v = this.history[Number(e.name) - 1];
          if (!v) throw new KdiveError(`History has not yet reached $${e.name}.`);
          return v;
        }
        const conv = this.convenience.get(e.name);
        if (conv) return conv;
        if (this.arch.dwarfRegisterNames.includes(e.name) || this.arch.registerAliases[e.name] || scope.readRegister(e.name) !== undefined) return this.register(e.name, scope);
        return { type: VOID };
      }
      case 'call': {
        // An argument that does not evaluate still lets the call say what it says (no such function,
        // or kdive calls no kernel functions); a helper that needs it fails on the VOID.
        const args = await Promise.all(e.args.map((a) => this.eval(a, scope).catch(() => ({ type: VOID }) as CValue)));
        const r = await scope.call?.(e.callee, args, e.args);
        if (!r) {
          const known = 'there are $percpu(var, cpu), per_cpu(var, cpu), $lx_per_cpu("var", cpu) and $lx_current([cpu])';
          throw new KdiveError(e.callee.startsWith('$') ? `no function ${e.callee} in kdive (${known})` : `kdive does not call kernel functions such as ${e.callee}() (${known})`);
        }
        return r;
      }
      case 'member': {
        let obj = await this.eval(e.object, scope);
        let t = strip(obj.type);
        if (e.arrow || t.kind === 'pointer') {
          if (t.kind !== 'pointer') throw new KdiveError(`The -> operator needs a pointer, not ${typeToString(obj.type)}`);
          obj = { type: t.target, address: await scalarOf(obj, src) };
          t = strip(t.target);
        }
        if (t.kind !== 'struct' && t.kind !== 'union') throw new KdiveError(`Attempt to extract a component of a value that is not a structure${e.arrow ? ' pointer' : ''}.`);
        const found = await findMember(t, e.member);
        if (!found) throw new KdiveError(`There is no member named ${e.member}.`);
        let v = obj;
        for (const m of found) v = memberValue(v, m);
        return v;
      }
      case 'index': {
        const obj = await this.eval(e.object, scope);
        const index = await scalarOf(await this.eval(e.index, scope), src);
        const t = strip(obj.type);
        if (t.kind === 'array') {
          if (obj.address === undefined) {
            const size = sizeOf(t.element);
            const b = await bytesOf(obj, src);
            return { type: t.element, bytes: b.subarray(Number(index) * size, (Number(index) + 1) * size) };
          }
          return { type: t.element, address: obj.address + index * BigInt(sizeOf(t.element)) };
        }
        if (t.kind === 'pointer') return { type: t.target, address: (await scalarOf(obj, src)) + index * BigInt(sizeOf(t.target)) };
        throw new KdiveError(`cannot subscript something of type \`${typeToString(obj.type)}'`);
      }
      case 'unary':
        return this.unary(e.op, e.operand, scope);
      case 'cast': {
        const type = await this.resolveType(e.type);
        // gdb's rule for a symbol without debug info: `(type) sym` reads it as that type.
        const operand = await this.eval(e.operand, scope).catch((err: unknown) => {
          if (err instanceof UnknownTypeError) return { type, address: err.address } as CValue;
          throw err;
        });
        if (operand.type === type && operand.bytes === undefined) return operand;
        return this.cast(operand, type, src);
      }
      case 'sizeof': {
        const t = e.type ? await this.resolveType(e.type) : (await this.eval(e.operand!, scope)).type;
        // gdb types sizeof as int.
        return fromScalar(INT, BigInt(sizeOf(t)));
      }
      case 'ternary':
        return (await this.truth(await this.eval(e.cond, scope), src)) ? this.eval(e.then, scope) : this.eval(e.else, scope);
      case 'assign': {
        if (e.target.kind !== 'dollar' || /^\d*$/.test(e.target.name)) throw new KdiveError('kdive only assigns to convenience variables ($name = ...); it does not write guest memory or registers');
        const v = await this.eval(e.value, scope);
        const copy: CValue = { type: v.type, bytes: Buffer.from(await bytesOf(v, src)) };
        this.convenience.set(e.target.name, copy);
        return copy;
      }
      case 'binary':
        return this.binary(e.op, e.left, e.right, scope);
    }
  }

  private async truth(v: CValue, src: ValueSource): Promise<boolean> {
    return (await scalarOf(v, src)) !== 0n;
  }

  private async unary(op: string, operand: Expr, scope: ExpressionScope): Promise<CValue> {
    const src = this.source(scope);
    if (op === '&') {
      const v = await this.eval(operand, scope).catch((err: unknown) => {
        // `&sym` of a symbol without debug info: gdb types it `<data variable, no debug info> *`; kdive uses char *.
        if (err instanceof UnknownTypeError) return { type: CHAR, address: err.address } as CValue;
        throw err;
      });
      if (v.bitSize !== undefined) throw new KdiveError('Attempt to take address of value not located in memory (a bit-field).');
      if (v.address === undefined) throw new KdiveError('Attempt to take address of value not located in memory.');
      return fromScalar(pointerTo(v.type), v.address);
    }
    const v = await this.eval(operand, scope);
    const t = strip(v.type);
    if (op === '*') {
      if (t.kind === 'pointer') {
        if (strip(t.target).kind === 'void') throw new KdiveError('Attempt to take contents of a non-pointer value (void *).');
        return { type: t.target, address: await scalarOf(v, src) };
      }
      if (t.kind === 'array') return { type: t.element, address: v.address, bytes: v.bytes?.subarray(0, sizeOf(t.element)) };
      if (t.kind === 'func') return v;
      throw new KdiveError('Attempt to take contents of a non-pointer value.');
    }
    const x = await scalarOf(v, src);
    const type = promote(v.type);
    switch (op) {
      case '-':
        return fromScalar(type, -x);
      case '+':
        return fromScalar(type, x);
      case '~':
        return fromScalar(type, ~x);
      default:
        return fromScalar(INT, x === 0n ? 1n : 0n);
    }
  }

  private async cast(v: CValue, type: CType, src: ValueSource): Promise<CValue> {
    const to = strip(type);
    const from = strip(v.type);
    if (to.kind === 'struct' || to.kind === 'union' || to.kind === 'array') {
      if (v.address === undefined) throw new KdiveError(`Invalid cast to ${typeToString(type)}.`);
      return { type, address: v.address };
    }
    // An array or function used as a value is its address.
    const x = from.kind === 'array' || from.kind === 'func' ? v.address ?? 0n : await scalarOf(v, src);
    return fromScalar(type, x);
  }

  private async binary(op: string, le: Expr, re: Expr, scope: ExpressionScope): Promise<CValue> {
    const src = this.source(scope);
    if (op === '&&' || op === '||') {
      const l = await this.truth(await this.eval(le, scope), src);
      if (op === '&&' && !l) return fromScalar(INT, 0n);
      if (op === '||' && l) return fromScalar(INT, 1n);
      return fromScalar(INT, (await this.truth(await this.eval(re, scope), src)) ? 1n : 0n);
    }
    const l = await this.eval(le, scope);
    const r = await this.eval(re, scope);
    const lt = strip(l.type);
    const rt = strip(r.type);
    const addressOf = async (v: CValue, t: CType) => (t.kind === 'array' ? v.address ?? 0n : scalarOf(v, src));
    const lptr = lt.kind === 'pointer' || lt.kind === 'array';
    const rptr = rt.kind === 'pointer' || rt.kind === 'array';
    if ((op === '+' || op === '-') && (lptr || rptr)) {
      if (lptr && rptr && op === '-') {
        const elem = lt.kind === 'pointer' ? lt.target : (lt as { element: CType }).element;
        const size = BigInt(sizeOf(elem) || 1);
        return fromScalar(LONG, ((await addressOf(l, lt)) - (await addressOf(r, rt))) / size);
      }
      const [p, pt, n] = lptr ? [l, lt, r] : [r, rt, l];
      const elem = pt.kind === 'pointer' ? pt.target : (pt as { element: CType }).element;
      const delta = (await scalarOf(n, src)) * BigInt(sizeOf(elem) || 1);
      const base = await addressOf(p, pt);
      return fromScalar(pt.kind === 'pointer' ? p.type : pointerTo(elem), op === '+' ? base + delta : base - delta);
    }
    const a = lptr ? await addressOf(l, lt) : await scalarOf(l, src);
    const b = rptr ? await addressOf(r, rt) : await scalarOf(r, src);
    const type = lptr || rptr ? ULONG : arithmeticType(l.type, r.type);
    const unsigned = !isSigned(type);
    const bits = BigInt(sizeOf(type) * 8);
    const ua = unsigned ? BigInt.asUintN(Number(bits), a) : a;
    const ub = unsigned ? BigInt.asUintN(Number(bits), b) : b;
    const bool = (x: boolean) => fromScalar(INT, x ? 1n : 0n);
    switch (op) {
      case '+':
        return fromScalar(type, ua + ub);
      case '-':
        return fromScalar(type, ua - ub);
      case '*':
        return fromScalar(type, ua * ub);
      case '/':
      case '%':
        if (ub === 0n) throw new KdiveError('Division by zero');
        return fromScalar(type, op === '/' ? ua / ub : ua % ub);
      case '<<':
        return fromScalar(type, ua << ub);
      case '>>':
        return fromScalar(type, ua >> ub);
      case '&':
        return fromScalar(type, ua & ub);
      case '|':
        return fromScalar(type, ua | ub);
      case '^':
        return fromScalar(type, ua ^ ub);
      case '==':
        return bool(ua === ub);
      case '!=':
        return bool(ua !== ub);
      case '<':
        return bool(ua < ub);
      case '>':
        return bool(ua > ub);
      case '<=':
        return bool(ua <= ub);
      case '>=':
        return bool(ua >= ub);
      default:
        throw new KdiveError(`unknown operator ${op}`);
    }
  }
}

/** A symbol the ELF table knows but DWARF does not type: usable only through a cast or `&`. */
class UnknownTypeError extends KdiveError {
  constructor(name: string, readonly address: bigint) {
    super(`'${name}' has unknown type; cast it to its declared type`);
  }
}

export { isCharType };
