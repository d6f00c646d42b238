import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownProcesses } from './own-resources.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Running from TypeScript sources (tsx) or from the build (dist/test/support)? */
const fromSource = import.meta.url.endsWith('.ts');
const repoRoot = fromSource ? path.resolve(here, '../..') : path.resolve(here, '../../..');
export const CLI_PATH = fromSource ? path.join(repoRoot, 'src/cli/main.ts') : path.join(repoRoot, 'dist/src/cli/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the kdive CLI as a user would, in its own process. */
export function runKdive(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const nodeArgs = fromSource ? ['--import', 'tsx', CLI_PATH, ...args] : [CLI_PATH, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Pids of the qemu-system processes this test process started and that still run (other people's QEMUs are not counted). */
export function qemuPids(): Set<number> {
  return ownProcesses('qemu-system');
}

/** Qemu pids that exist now but did not before. */
export function newQemuPids(before: Set<number>): number[] {
  return [...qemuPids()].filter((p) => !before.has(p));
}
