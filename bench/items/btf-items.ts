import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext, ItemResult } from '../bench-item.js';
import { runTimed, type Sample } from '../measure.js';

const DRGN_PYTHON = '/usr/bin/python3';

/**
 * Debugging without the -dbg package (issue 19): types from the image's BTF against kdive's
 * DWARF path and drgn (which reads DWARF), and what the download costs with and without -dbg.
 */
export async function btfItems(ctx: BenchContext): Promise<ItemResult[]> {
  const [node, ...cli] = ctx.kdive;
  const made: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'kdive-bench-btf-'));
    made.push(d);
    return d;
  };
  const warmDir = fresh();
  const run = async (args: string[], env: () => NodeJS.ProcessEnv, check: (out: string) => boolean, runs = ctx.runs): Promise<Sample[]> => {
    const out: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runTimed(node!, [...cli, ...args], { env: env(), timeoutMs: 1_800_000 });
      if (r.code !== 0 || !check(r.stdout)) throw new Error(`kdive ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-400)}`);
      out.push({ value: r.seconds, peakMB: r.peakMB });
    }
    return out;
  };
  const drgn = async (type: string): Promise<Sample[]> => {
    const script = `import drgn\np = drgn.Program(drgn.host_platform)\np.load_debug_info([${JSON.stringify(ctx.vmlinux)}])\nprint(p.type(${JSON.stringify(type)}).size)\n`;
    const out: Sample[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const r = await runTimed(DRGN_PYTHON, ['-c', script]);
      if (r.code !== 0) throw new Error(`drgn failed: ${r.stderr.slice(-300)}`);
      out.push({ value: r.seconds, peakMB: r.peakMB });
    }
    return out;
  };
  const printed = (type: string) => (out: string) => out.includes(`type = ${type} {`);
  const ptype = (file: string, type: string) => ['sym', file, 'ptype', type];
  // Warm: the bzImage unpacked once (and the DWARF name index built once) in warmDir.
  await run(ptype(ctx.bzImage, 'struct task_struct'), () => ({ KDIVE_CACHE: warmDir }), printed('struct task_struct'), 1);
  await run(ptype(ctx.vmlinux, 'struct tcp_sock'), () => ({ KDIVE_CACHE: warmDir }), printed('struct tcp_sock'), 1);
  const items: ItemResult[] = [];
  for (const type of ['struct task_struct', 'struct tcp_sock']) {
    items.push({
      id: `btf-ptype-${type.split(' ')[1]}`,
      title: `\`ptype ${type}\` without the -dbg package: kdive from the bzImage's BTF, against kdive's DWARF path and drgn, as whole processes`,
      unit: 's',
      higherIsBetter: false,
      runs: [
        { tool: 'kdive BTF', samples: await run(ptype(ctx.bzImage, type), () => ({ KDIVE_CACHE: warmDir }), printed(type)), command: `${node} ${[...cli, ...ptype(ctx.bzImage, `'${type}'`)].join(' ')}   # bzImage unpacked once` },
        { tool: 'kdive BTF, first time', samples: await run(ptype(ctx.bzImage, type), () => ({ KDIVE_CACHE: fresh() }), printed(type)), command: `KDIVE_CACHE=$(mktemp -d) ${node} ${[...cli, ...ptype(ctx.bzImage, `'${type}'`)].join(' ')}   # unpacks the bzImage (LZ4) first` },
        { tool: 'kdive DWARF', samples: await run(ptype(ctx.vmlinux, type), () => ({ KDIVE_CACHE: warmDir }), printed(type)), command: `${node} ${[...cli, ...ptype(ctx.vmlinux, `'${type}'`)].join(' ')}   # name index cached` },
        { tool: 'drgn', samples: await drgn(type), command: `${DRGN_PYTHON} -c 'import drgn; p = drgn.Program(drgn.host_platform); p.load_debug_info([VMLINUX]); print(p.type("${type}").size)'` },
      ],
      ratios: [['kdive BTF', 'drgn'], ['kdive BTF', 'kdive DWARF'], ['kdive BTF, first time', 'drgn']],
      notes: ['Whole processes: Node and kdive\'s own start-up (about 0.18 s here, `kdive --version`) count. In-process, opening the unpacked image, parsing its 4 MB of BTF and laying out task_struct takes about 0.05 s. BTF gives the same layout as DWARF (test/symbols/btf-vs-dwarf.test.ts).'],
    });
  }
  // Downloads: each into an empty cache, once (the archive is a mirror on this network: the sizes say more than the times).
  const fetchRun = async (debuginfo: boolean): Promise<Sample[]> => run(['kernel', 'fetch', 'debian:cloud-amd64', ...(debuginfo ? [] : ['--no-debuginfo'])], () => ({ KDIVE_CACHE: fresh() }), (o) => o.includes('bzImage:'), 1);
  items.push({
    id: 'kernel-fetch-debuginfo',
    title: '`kdive kernel fetch debian:cloud-amd64` into an empty cache, with the -dbg package and without it (`--no-debuginfo`): download 26.7 MB against 26.7 + 283.3 MB',
    unit: 's',
    higherIsBetter: false,
    runs: [
      { tool: 'kdive --no-debuginfo', samples: await fetchRun(false), command: `KDIVE_CACHE=$(mktemp -d) ${ctx.kdive.join(' ')} kernel fetch debian:cloud-amd64 --no-debuginfo` },
      { tool: 'kdive with -dbg', samples: await fetchRun(true), command: `KDIVE_CACHE=$(mktemp -d) ${ctx.kdive.join(' ')} kernel fetch debian:cloud-amd64` },
    ],
    ratios: [['kdive --no-debuginfo', 'kdive with -dbg']],
    notes: ['One run each (a download is not repeated). The package sizes are those of linux-image-6.1.0-57-cloud-amd64 6.1.192-3 and its -dbg package; unpacking the -dbg package writes a 590 MB vmlinux.'],
  });
  for (const d of made) rmSync(d, { recursive: true, force: true });
  return items;
}
