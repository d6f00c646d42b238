import type { ItemResult } from './bench-item.js';
import { median } from './measure.js';

export interface Environment {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  versions: Record<string, string>;
  kernel: string;
  command: string;
  runs: number;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** BENCHMARKS.md: one table per item, medians with their spread, ratios, and the commands. */
export function renderReport(env: Environment, items: ItemResult[]): string {
  const out: string[] = [];
  out.push('# kdive benchmarks', '');
  out.push(`Written by \`${env.command}\` on ${env.date}; every figure below comes from that one run, gdb, drgn and kdive measured alternately on the same machine.`, '');
  out.push(`- Machine: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB; QEMU under TCG (KVM is not usable here).`);
  out.push(`- Kernel: ${env.kernel} (its 590 MB vmlinux with DWARF 5).`);
  out.push(`- Versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  out.push(`- Runs per figure: ${env.runs}. Median, with the spread (min–max) beside it. Peak memory is the measured process's maximum RSS.`, '');
  out.push('## Summary', '', '| work | unit | ratio | meaning |', '|---|---|---|---|');
  for (const item of items) {
    for (const [a, b] of item.ratios) {
      const ra = item.runs.find((r) => r.tool === a);
      const rb = item.runs.find((r) => r.tool === b);
      if (!ra || !rb) continue;
      const ratio = median(ra.samples.map((s) => s.value)) / median(rb.samples.map((s) => s.value));
      const meaning = item.higherIsBetter ? `${a} is ${fmt(ratio)}x ${b}'s ${item.unit}` : `${a} takes ${fmt(ratio)}x ${b}'s time`;
      out.push(`| ${item.title} | ${item.unit} | ${a}/${b} = ${fmt(ratio)} | ${meaning} |`);
    }
  }
  out.push('');
  for (const item of items) {
    out.push(`## ${item.title}`, '', `| tool | median (${item.unit}) | spread | peak memory (MB) | command |`, '|---|---|---|---|---|');
    for (const r of item.runs) {
      const values = r.samples.map((s) => s.value);
      const peaks = r.samples.map((s) => s.peakMB ?? 0);
      out.push(`| ${r.tool} | ${fmt(median(values))} | ${fmt(Math.min(...values))}–${fmt(Math.max(...values))} | ${fmt(Math.max(...peaks))} | \`${r.command.replace(/\|/g, '\\|')}\` |`);
    }
    for (const n of item.notes ?? []) out.push('', n);
    out.push('');
  }
  return out.join('\n');
}
