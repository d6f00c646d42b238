import type { Sample } from './measure.js';

/** One tool's figures on a work item, and the command that reproduces one of them. */
export interface ToolRun {
  tool: string;
  samples: Sample[];
  command: string;
}

/** One work item measured for each tool in the same run. */
export interface ItemResult {
  id: string;
  title: string;
  unit: string;
  /** Throughputs: higher is better; times: lower is better. */
  higherIsBetter: boolean;
  runs: ToolRun[];
  /** Ratios to report, as [tool, relative to tool]. */
  ratios: [string, string][];
  notes?: string[];
}

export interface BenchContext {
  quick: boolean;
  runs: number;
  vmlinux: string;
  bzImage: string;
  kernelVersion: string;
  /** The KGDB kernel (kdive kernel build --fragment kgdb), for the items over kgdb. */
  kgdb?: { bzImage: string; vmlinux: string; version: string };
  /** vmlinux-gdb.py of the kernel's scripts/gdb (lx-ps, lx-dmesg), when its source could be had. */
  scriptsGdb?: string;
  /** `node dist/bundle/main.js`: the kdive command as installed */
  kdive: string[];
  repoRoot: string;
}
