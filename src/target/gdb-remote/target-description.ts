import type { RegisterDescription } from '../target.js';

/** Fetches one annex of the target description through `qXfer:features:read`, chunk by chunk. */
export type FeatureReader = (annex: string) => Promise<string>;

/**
 * Builds the register layout from target.xml and its `xi:include`s: registers in regnum
 * order (a `regnum` attribute resets the count), `g` offsets the running sum of sizes.
 */
export async function readTargetDescription(read: FeatureReader): Promise<{ architecture?: string; registers: RegisterDescription[] }> {
  const regs: { name: string; bitSize: number; regnum?: number; type?: string; group?: string }[] = [];
  let architecture: string | undefined;
  const seen = new Set<string>();
  const visit = async (annex: string): Promise<void> => {
    if (seen.has(annex)) return;
    seen.add(annex);
    const xml = await read(annex);
    const arch = /<architecture>\s*([^<\s]+)\s*<\/architecture>/.exec(xml);
    if (arch) architecture = arch[1];
    // Walk includes and registers in document order.
    const tokens = /<xi:include\b([^>]*)\/?>|<reg\b([^>]*)\/?>/g;
    for (let m = tokens.exec(xml); m; m = tokens.exec(xml)) {
      if (m[1] !== undefined) {
        const href = attribute(m[1], 'href');
        if (href) await visit(href);
      } else {
        const attrs = m[2]!;
        const name = attribute(attrs, 'name');
        const bitsize = Number(attribute(attrs, 'bitsize'));
        if (!name || !Number.isFinite(bitsize) || bitsize <= 0) continue;
        const regnum = attribute(attrs, 'regnum');
        regs.push({ name, bitSize: bitsize, regnum: regnum === undefined ? undefined : Number(regnum), type: attribute(attrs, 'type'), group: attribute(attrs, 'group') });
      }
    }
  };
  await visit('target.xml');
  let next = 0;
  let offset = 0;
  const registers: RegisterDescription[] = regs.map((r) => {
    const regnum = r.regnum ?? next;
    next = regnum + 1;
    const desc: RegisterDescription = { name: r.name, regnum, bitSize: r.bitSize, offset, type: r.type, group: r.group };
    offset += Math.ceil(r.bitSize / 8);
    return desc;
  });
  return { architecture, registers };
}

function attribute(attrs: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`).exec(attrs);
  return m ? (m[2] ?? m[3]) : undefined;
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
