import type { RegisterDescription } from '../target.js';
import { TargetError } from '../target-error.js';
import { childElements, parseXml, textOf, XmlSyntaxError, type XmlElement } from './xml-document.js';

/** Fetches one annex of the target description through `qXfer:features:read`, chunk by chunk. */
export type FeatureReader = (annex: string) => Promise<string>;

/**
 * Builds the register layout from target.xml and the documents it `xi:include`s, parsed as XML
 * (a register inside a comment is no register: QEMU's i386-64bit.xml comments out cs_base..es_base).
 * As gdb numbers them: a `regnum` attribute sets a register's number, any other register is one
 * more than the register before it, the first one 0; the `g` packet holds them in number order,
 * each at the sum of the sizes before it.
 */
export async function readTargetDescription(read: FeatureReader): Promise<{ architecture?: string; registers: RegisterDescription[] }> {
  const regs: { name: string; bitSize: number; regnum: number; type?: string; group?: string }[] = [];
  let architecture: string | undefined;
  let next = 0;
  const including: string[] = [];
  const load = async (annex: string): Promise<XmlElement> => {
    if (including.includes(annex)) throw new TargetError(`target description ${annex} includes itself (${[...including, annex].join(' -> ')})`);
    const text = await read(annex);
    try {
      return parseXml(text);
    } catch (err) {
      if (err instanceof XmlSyntaxError) throw new TargetError(`target description ${annex}: ${err.message}`);
      throw err;
    }
  };
  const visit = async (el: XmlElement, annex: string): Promise<void> => {
    for (const child of childElements(el)) {
      if (child.name === 'architecture') architecture = textOf(child).trim() || architecture;
      else if (child.name === 'xi:include') {
        const href = child.attributes.href;
        if (!href) throw new TargetError(`target description ${annex}: an xi:include without href`);
        including.push(annex);
        await visit({ name: 'included', attributes: {}, children: [await load(href)] }, href);
        including.pop();
      } else if (child.name === 'feature' || child.name === 'target') await visit(child, annex);
      else if (child.name === 'reg') regs.push(register(child, annex));
    }
  };
  const register = (el: XmlElement, annex: string) => {
    const { name, bitsize, regnum, type, group } = el.attributes;
    const bitSize = Number(bitsize);
    if (!name || !Number.isInteger(bitSize) || bitSize <= 0) throw new TargetError(`target description ${annex}: a <reg> needs a name and a positive bitsize (got name=${name ?? '-'} bitsize=${bitsize ?? '-'})`);
    const number = regnum === undefined ? next : Number(regnum);
    if (!Number.isInteger(number) || number < 0) throw new TargetError(`target description ${annex}: register ${name} has regnum ${regnum}`);
    next = number + 1;
    return { name, bitSize, regnum: number, type, group };
  };
  await visit({ name: 'document', attributes: {}, children: [await load('target.xml')] }, 'target.xml');
  let offset = 0;
  const registers = [...regs].sort((a, b) => a.regnum - b.regnum).map((r): RegisterDescription => {
    const desc: RegisterDescription = { name: r.name, regnum: r.regnum, bitSize: r.bitSize, offset, type: r.type, group: r.group };
    offset += Math.ceil(r.bitSize / 8);
    return desc;
  });
  return { architecture, registers };
}

/** A layout from (name, bytes) pairs, for stubs that send no target description. */
export function fixedLayout(regs: [string, number][]): RegisterDescription[] {
  let offset = 0;
  return regs.map(([name, bytes], regnum) => {
    const d = { name, regnum, bitSize: bytes * 8, offset };
    offset += bytes;
    return d;
  });
}
