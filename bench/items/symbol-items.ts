import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext, ItemResult } from '../bench-item.js';
import { resultLine, runTimed, type Sample } from '../measure.js';

const DRGN_PYTHON = '/usr/bin/python3'; // Debian's python3-drgn is for the system Python

function drgnScript(vmlinux: string, work: string): string {
  return `import drgn\np = drgn.Program(drgn.host_platform)\np.load_debug_info([${JSON.stringify(vmlinux)}])\n${work}\n`;
}

async function samples(ctx: BenchContext, cmd: string, args: string[], check: (stdout: string) => void, env?: () => NodeJS.ProcessEnv): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    const r = await runTimed(cmd, args, { env: env?.() });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-500)}`);
    check(r.stdout);
    out.push({ value: r.seconds, peakMB: r.peakMB });
  }
  return out;
}

/** Items 1 and 2 of the bench: name → breakpoint address, and info line + ptype, from a cold start. */
export async function symbolItems(ctx: BenchContext): Promise<ItemResult[]> {
  const v = ctx.vmlinux;
  // kdive cold: a fresh process and an empty cache (no name index); warm: the index cached on disk.
  const made: string[] = [];
  const fresh = (prefix: string) => {
    const d = mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
  const coldCache = () => ({ KDIVE_CACHE: fresh('kdive-bench-cold-') });
  const warmDir = fresh('kdive-bench-warm-');
  const warmCache = () => ({ KDIVE_CACHE: warmDir });
  await runTimed(ctx.kdive[0]!, [...ctx.kdive.slice(1), 'sym', 'lookup', v, 'init_task'], { env: warmCache() }); // builds and caches the index
  const [node, ...cli] = ctx.kdive;
  const lookupGdb = ['-nx', '-batch', '-ex', 'info address do_mkdirat', v];
  const lookupKdive = [...cli, 'sym', 'lookup', v, 'do_mkdirat'];
  const lookupDrgn = drgnScript(v, "print(hex(p.function('do_mkdirat').address_))");
  const hasAddress = (s: string) => {
    if (!/0xffffffff[0-9a-f]{8}/.test(s)) throw new Error(`no address in: ${s.slice(0, 300)}`);
  };
  const item1: ItemResult = {
    id: 'resolve-breakpoint',
    title: 'Resolve a breakpoint by name, cold (do_mkdirat)',
    unit: 's',
    higherIsBetter: false,
    runs: [
      { tool: 'gdb', samples: await samples(ctx, 'gdb', lookupGdb, hasAddress), command: `gdb ${lookupGdb.map(q).join(' ')}` },
      { tool: 'kdive', samples: await samples(ctx, node!, lookupKdive, hasAddress, coldCache), command: `KDIVE_CACHE=$(mktemp -d) ${ctx.kdive.join(' ')} sym lookup ${v} do_mkdirat` },
      { tool: 'kdive (index cached)', samples: await samples(ctx, node!, lookupKdive, hasAddress, warmCache), command: `${ctx.kdive.join(' ')} sym lookup ${v} do_mkdirat   # after one run has cached the index` },
      { tool: 'drgn', samples: await samples(ctx, DRGN_PYTHON, ['-c', lookupDrgn], hasAddress), command: `${DRGN_PYTHON} -c ${q(lookupDrgn)}` },
    ],
    ratios: [['kdive', 'gdb'], ['kdive', 'drgn'], ['kdive (index cached)', 'drgn']],
  };

  const ptypeGdb = ['-nx', '-batch', '-ex', 'info line do_mkdirat', '-ex', 'ptype struct task_struct', v];
  const ptypeKdive = [path.join(ctx.repoRoot, 'dist/bench/kdive-sym-work.js'), 'info-line-ptype', v];
  const ptypeDrgn = drgnScript(v, "f = p.function('do_mkdirat')\nt = p.type('struct task_struct')\nprint(hex(f.address_), t.size)");
  const item2: ItemResult = {
    id: 'info-line-ptype',
    title: '`info line do_mkdirat` + `ptype struct task_struct`, cold',
    unit: 's',
    higherIsBetter: false,
    runs: [
      {
        tool: 'gdb',
        samples: await samples(ctx, 'gdb', ptypeGdb, (s) => {
          if (!/type = struct task_struct/.test(s)) throw new Error('gdb printed no task_struct');
        }),
        command: `gdb ${ptypeGdb.map(q).join(' ')}`,
      },
      { tool: 'kdive', samples: await samples(ctx, node!, ptypeKdive, (s) => resultLine(s, 'kdive info-line-ptype'), coldCache), command: `KDIVE_CACHE=$(mktemp -d) ${node} ${ptypeKdive.join(' ')}` },
      { tool: 'kdive (index cached)', samples: await samples(ctx, node!, ptypeKdive, (s) => resultLine(s, 'kdive info-line-ptype'), warmCache), command: `${node} ${ptypeKdive.join(' ')}   # index cached` },
      {
        tool: 'drgn',
        samples: await samples(ctx, DRGN_PYTHON, ['-c', ptypeDrgn], (s) => {
          if (!/ \d+$/m.test(s.trim())) throw new Error(`drgn: ${s}`);
        }),
        command: `${DRGN_PYTHON} -c ${q(ptypeDrgn)}`,
      },
    ],
    ratios: [['kdive', 'gdb'], ['kdive', 'drgn'], ['kdive (index cached)', 'drgn']],
    notes: ['drgn does the same two look-ups (function, type); it has no "info line".'],
  };

  // A type only the name index finds: cold builds the index, warm reads it from ~/.cache/kdive/index.
  const cache = path.join(os.tmpdir(), `kdive-bench-cache-${process.pid}`);
  const indexed = [path.join(ctx.repoRoot, 'dist/bench/kdive-sym-work.js'), 'indexed-type', v];
  const cold: Sample[] = [];
  const warm: Sample[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    rmSync(cache, { recursive: true, force: true });
    const c = await runTimed(node!, indexed, { env: { KDIVE_CACHE: cache } });
    resultLine(c.stdout, 'kdive indexed-type');
    cold.push({ value: c.seconds, peakMB: c.peakMB });
    const w = await runTimed(node!, indexed, { env: { KDIVE_CACHE: cache } });
    resultLine(w.stdout, 'kdive indexed-type');
    warm.push({ value: w.seconds, peakMB: w.peakMB });
  }
  rmSync(cache, { recursive: true, force: true });
  // The command a user types, as a whole process: start-up, the cached index, the type.
  const ptypeCli = [...cli, 'sym', v, 'ptype', 'struct task_struct'];
  const taskDrgn = drgnScript(v, "print(p.type('struct task_struct').size)");
  const item4: ItemResult = {
    id: 'ptype-cli',
    title: '`kdive sym VMLINUX ptype \'struct task_struct\'`, the index cached, as a whole process (start-up counts)',
    unit: 's',
    higherIsBetter: false,
    runs: [
      { tool: 'kdive', samples: await samples(ctx, node!, ptypeCli, (o) => { if (!o.includes('struct task_struct {')) throw new Error('kdive ptype printed no struct'); }, warmCache), command: `${node} ${ptypeCli.map(q).join(' ')}   # the name index cached` },
      { tool: 'drgn', samples: await samples(ctx, DRGN_PYTHON, ['-c', taskDrgn], () => undefined), command: `${DRGN_PYTHON} -c ${q(taskDrgn)}` },
    ],
    ratios: [['kdive', 'drgn']],
    notes: ['kdive is the installed command (dist/bundle/main.js: one bundled module, its npm packages loaded from node_modules, iced-x86 and the DAP adapter only when a command needs them); drgn loads the vmlinux\'s debug info and finds the same type.'],
  };
  for (const d of made) rmSync(d, { recursive: true, force: true });
  const tcpDrgn = drgnScript(v, "print(p.type('struct tcp_sock').size)");
  const item3: ItemResult = {
    id: 'indexed-type',
    title: '`ptype struct tcp_sock`, a type outside the first units, with no name index cached (cold) and again (warm)',
    unit: 's',
    higherIsBetter: false,
    runs: [
      { tool: 'kdive cold', samples: cold, command: `KDIVE_CACHE=$(mktemp -d) ${node} ${indexed.join(' ')}` },
      { tool: 'kdive warm', samples: warm, command: `${node} ${indexed.join(' ')}   # again, same KDIVE_CACHE` },
      { tool: 'drgn', samples: await samples(ctx, DRGN_PYTHON, ['-c', tcpDrgn], () => undefined), command: `${DRGN_PYTHON} -c ${q(tcpDrgn)}` },
    ],
    ratios: [['kdive warm', 'drgn'], ['kdive cold', 'drgn']],
    notes: ['kdive finds the type in the units of functions whose BTF prototypes take a `struct tcp_sock *` (the vmlinux carries BTF too), so it builds no name index for it: cold and warm do the same work.'],
  };
  return [item1, item2, item3, item4];
}

function q(s: string): string {
  return /^[\w./:=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
