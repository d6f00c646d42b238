import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KdiveError } from '../errors.js';

const run = promisify(execFile);

/** Runs a host program and returns its stdout; tests inject their own to see or fake the calls. */
export type CommandRunner = (command: string, args: string[]) => Promise<string>;

/** Runs a host tool and returns its stdout; a failure names the command and its last stderr line. */
export async function runTool(command: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd: opts.cwd, maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new KdiveError(`${command} not found: kdive needs it (${command === 'apt-get' || command === 'apt-cache' ? 'a Debian system with apt' : 'install it'})`);
    const last = (e.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? e.message;
    throw new KdiveError(`'${command} ${args.join(' ')}' failed: ${last}`);
  }
}
