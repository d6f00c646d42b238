import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { KdiveError } from '../errors.js';
import { freeLoopbackPort } from './free-port.js';
import { chooseAccelerator, type Accel } from './kvm-probe.js';
import { registerChild, unregisterChild } from './process-reaper.js';
import { QEMU_X86_64, qemuVersion } from './qemu-binary.js';
import { QmpClient } from './qmp-client.js';
import { createRunDir } from './run-dir.js';

export interface LaunchOptions {
  kernel: string;
  initrd?: string;
  append?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Start with the CPUs stopped (-S), waiting for the debugger. Default true. */
  halted?: boolean;
  /** gdbstub on 127.0.0.1 (a free port). Default true. */
  gdb?: boolean;
  extraArgs?: string[];
  /** Where the console log goes; default: console.log in the run folder. */
  consoleLogPath?: string;
  accel?: Accel;
}

export interface QemuInstance {
  pid: number;
  runDir: string;
  accel: Accel;
  gdb: { host: '127.0.0.1'; port: number };
  qmp: QmpClient;
  consoleLogPath: string;
  onConsole(listener: (text: string) => void): void;
  consoleText(): string;
  /** Resolves when QEMU has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: string | null }>;
  readonly hasExited: boolean;
  /** Ends QEMU (QMP quit, then SIGTERM, then SIGKILL of its group) and removes the run folder. Idempotent. */
  kill(): Promise<void>;
}

const START_ATTEMPTS = 3;

/** Starts QEMU with its debug stub on loopback, QMP on a unix socket in a private folder. */
export async function launchQemu(opts: LaunchOptions): Promise<QemuInstance> {
  qemuVersion(); // a clear "install qemu-system-x86" before anything else
  let accel = opts.accel ?? (await chooseAccelerator());
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, accel);
    } catch (err) {
      // Another process may have taken the free port between our probe and QEMU's bind.
      if (attempt < START_ATTEMPTS && err instanceof PortTakenError) continue;
      // KVM that passed the probe can still fail on a real kernel: fall back to TCG once.
      if (accel === 'kvm' && !opts.accel && !process.env.KDIVE_ACCEL && err instanceof KdiveError) {
        accel = 'tcg';
        continue;
      }
      throw err;
    }
  }
}

class PortTakenError extends KdiveError {}

async function startOnce(opts: LaunchOptions, accel: Accel): Promise<QemuInstance> {
  const run = createRunDir('kdive-vm-');
  const qmpPath = path.join(run.path, 'qmp.sock');
  const consoleLogPath = opts.consoleLogPath ?? path.join(run.path, 'console.log');
  const port = opts.gdb === false ? 0 : await freeLoopbackPort();
  const args = [
    '-accel', accel,
    '-machine', 'q35',
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-m', String(opts.memoryMiB ?? 512),
    '-smp', String(opts.cpus ?? 1),
    '-kernel', opts.kernel,
    ...(opts.initrd ? ['-initrd', opts.initrd] : []),
    ...(opts.append ? ['-append', opts.append] : []),
    '-display', 'none', '-monitor', 'none', '-nodefaults', '-no-reboot',
    '-serial', 'stdio',
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ...(opts.gdb === false ? [] : ['-gdb', `tcp:127.0.0.1:${port}`]),
    ...(opts.halted === false ? [] : ['-S']),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(QEMU_X86_64, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log: WriteStream = createWriteStream(consoleLogPath, { flags: 'a' });
  let consoleText = '';
  let stderrText = '';
  const listeners: ((t: string) => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    consoleText += text;
    log.write(d);
    for (const l of listeners) l(text);
  });
  child.stderr!.on('data', (d: Buffer) => (stderrText += d.toString('utf8')));
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      unregisterChild(child.pid!);
      resolve({ code, signal });
    });
    child.once('error', () => {
      hasExited = true;
      resolve({ code: null, signal: null });
    });
  });
  if (child.pid === undefined) {
    run.remove();
    throw new KdiveError(`cannot start ${QEMU_X86_64}`);
  }
  registerChild({ pid: child.pid, cleanup: () => run.remove() });

  let qmp: QmpClient;
  try {
    const connecting = QmpClient.connect(qmpPath);
    connecting.then((c) => hasExited && c.close(), () => undefined); // a late result after QEMU died
    const first = await Promise.race([connecting, exited.then(() => undefined)]);
    if (!first) throw startFailure(stderrText, port);
    qmp = first;
  } catch (err) {
    await killGroup(child, exited);
    run.remove();
    throw err instanceof KdiveError ? err : startFailure(stderrText, port);
  }

  let killed: Promise<void> | undefined;
  const instance: QemuInstance = {
    pid: child.pid,
    runDir: run.path,
    accel,
    gdb: { host: '127.0.0.1', port },
    qmp,
    consoleLogPath,
    onConsole: (l) => listeners.push(l),
    consoleText: () => consoleText,
    exited,
    get hasExited() {
      return hasExited;
    },
    kill: () =>
      (killed ??= (async () => {
        if (!hasExited) {
          await qmp.execute('quit', undefined, 1000).catch(() => undefined);
          await Promise.race([exited, delay(2000)]);
        }
        qmp.close();
        if (!hasExited) await killGroup(child, exited);
        await new Promise<void>((r) => log.end(() => r()));
        run.remove();
      })()),
  };
  return instance;
}

function startFailure(stderr: string, port: number): KdiveError {
  const last = stderr.trim().split('\n').filter(Boolean).pop() ?? 'no message';
  if (/Address already in use|Failed to bind/i.test(stderr)) return new PortTakenError(`QEMU could not listen on 127.0.0.1:${port}: ${last}`);
  return new KdiveError(`QEMU exited at start: ${last}`);
}

async function killGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      return;
    }
    if (await Promise.race([exited.then(() => true), delay(2000).then(() => false)])) return;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
