import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Sample {
  /** The figure itself, in the item's unit. */
  value: number;
  /** Peak resident memory of the measured process, in MB. */
  peakMB?: number;
}

export interface Timed {
  seconds: number;
  peakMB: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a command under /usr/bin/time: wall seconds and peak RSS of that process tree's largest member. */
export function runTimed(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Timed> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdive-bench-'));
  const out = path.join(dir, 'time.txt');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', out, cmd, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let peakMB = 0;
      try {
        peakMB = Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024;
      } catch {
        // time(1) wrote nothing: the command was killed
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ seconds, peakMB, stdout, stderr, code });
    });
  });
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A figure a script printed as `KDIVE-RESULT {...json}`. */
export function resultLine<T>(stdout: string, what: string): T {
  const line = stdout.split('\n').find((l) => l.startsWith('KDIVE-RESULT '));
  if (!line) throw new Error(`${what} printed no result:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice('KDIVE-RESULT '.length)) as T;
}
