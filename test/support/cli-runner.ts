import { spawn, type ChildProcess } from 'node:child_process';
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

/** The node arguments that run the kdive CLI with `args` (through tsx when the tests run from source). */
export function kdiveNodeArgs(args: string[]): string[] {
  return fromSource ? ['--import', 'tsx', CLI_PATH, ...args] : [CLI_PATH, ...args];
}

/** Runs the kdive CLI as a user would, in its own process. */
export function runKdive(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const nodeArgs = kdiveNodeArgs(args);
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

/** A kdive process left running while the test works with it (`kdive boot`, `kdive proxy`). */
export interface RunningKdive {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null after a signal) once kdive has exited. */
  exited: Promise<number | null>;
}

/** Starts kdive and leaves it running; with `stdin: 'pipe'` the test types into child.stdin. */
export function startKdive(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore' } = {}): RunningKdive {
  const child = spawn(process.execPath, kdiveNodeArgs(args), { cwd: repoRoot, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits until `check()` holds, polling every 100 ms; throws naming `what` after `ms`. */
export async function until(what: string, check: () => boolean, ms = 240_000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
