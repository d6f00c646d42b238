import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { KdiveError } from '../errors.js';
import { freeLoopbackPort } from './free-port.js';
import { chooseAccelerator, type Accel } from './kvm-probe.js';
import { registerChild, unregisterChild } from './process-reaper.js';
import { qemuCommand, qemuVersion, SYSTEM_QEMU, type QemuBinary } from './qemu-binary.js';
import { QmpClient } from './qmp-client.js';
import { createRunDir } from './run-dir.js';

export interface LaunchOptions {
  kernel: string;
  initrd?: string;
  append?: string;
  memoryMiB?: number;
  /** Guest RAM in a shared memfd, which vhost-user devices (virtiofs) map. */
  sharedMemory?: boolean;
  cpus?: number;
  /** Start with the CPUs stopped (-S), waiting for the debugger. Default true. */
  halted?: boolean;
  /** gdbstub on 127.0.0.1 (a free port). Default true. */
  gdb?: boolean;
  /** The loopback port for the gdbstub instead of a free one (`kdive boot --gdb 127.0.0.1:PORT`). */
  gdbPort?: number;
  extraArgs?: string[];
  /**
   * 'stdio' (default): the first serial port is QEMU's stdout, streamed to the log file and to
   * onConsole listeners. 'none': no serial port unless extraArgs adds one (kgdb over telnet...).
   */
  serial?: 'stdio' | 'none';
  /** Where the console log goes; default: console.log in the run folder (removed with it when QEMU ends). */
  consoleLogPath?: string;
  accel?: Accel;
  /** Which QEMU runs the guest (--qemu); default the system's. */
  qemu?: QemuBinary;
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
  /** Resolves when QEMU has exited and the run folder is removed (never rejects). */
  exited: Promise<{ code: number | null; signal: string | null }>;
  readonly hasExited: boolean;
  /**
   * Once QEMU has exited: one line saying how, when it was not the guest powering off nor kdive
   * ending it (killed by a signal, crashed, exited with an error, told to quit from outside), with
   * its last stderr line; undefined otherwise (and while it runs).
   */
  unexpectedEnd(): string | undefined;
  /** Ends QEMU (QMP quit, then SIGTERM, then SIGKILL of its group) and removes the run folder. Idempotent. */
  kill(): Promise<void>;
}

const START_ATTEMPTS = 3;

/** Starts QEMU with its debug stub on loopback, QMP on a unix socket in a private folder. */
export async function launchQemu(opts: LaunchOptions): Promise<QemuInstance> {
  qemuVersion(opts.qemu); // a clear "install qemu-system-x86" (or a broken --qemu) before anything else
  let accel = opts.accel ?? (await chooseAccelerator(undefined, opts.qemu));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, accel);
    } catch (err) {
      // Another process may have taken the free port between our probe and QEMU's bind.
      if (attempt < START_ATTEMPTS && err instanceof PortTakenError && !opts.gdbPort) continue;
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
  const port = opts.gdb === false ? 0 : (opts.gdbPort || (await freeLoopbackPort()));
  const args = [
    '-accel', accel,
    '-machine', 'q35',
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-m', String(opts.memoryMiB ?? 512),
    ...(opts.sharedMemory ? ['-object', `memory-backend-memfd,id=kdive-mem,size=${opts.memoryMiB ?? 512}M,share=on`, '-numa', 'node,memdev=kdive-mem'] : []),
    '-smp', String(opts.cpus ?? 1),
    '-kernel', opts.kernel,
    ...(opts.initrd ? ['-initrd', opts.initrd] : []),
    ...(opts.append ? ['-append', opts.append] : []),
    '-display', 'none', '-monitor', 'none', '-nodefaults', '-no-reboot',
    ...(opts.serial === 'none' ? [] : ['-serial', 'stdio']),
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ...(opts.gdb === false ? [] : ['-gdb', `tcp:127.0.0.1:${port}`]),
    ...(opts.halted === false ? [] : ['-S']),
    ...(opts.extraArgs ?? []),
  ];
  const command = qemuCommand(opts.qemu ?? SYSTEM_QEMU, args);
  const child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: command.env });
  const log: WriteStream = createWriteStream(consoleLogPath, { flags: 'a', mode: 0o600 });
  log.on('error', () => undefined); // the run folder may go first when QEMU is killed
  let consoleText = '';
  let stderrText = '';
  const listeners: ((t: string) => void)[] = [];
  const decoder = new StringDecoder('utf8');
  child.stdout!.on('data', (d: Buffer) => {
    const text = decoder.write(d);
    consoleText += text;
    log.write(d);
    for (const l of listeners) l(text);
  });
  child.stderr!.on('data', (d: Buffer) => (stderrText += d.toString('utf8')));

  let hasExited = false;
  let qmp: QmpClient | undefined;
  const gaveUp = new AbortController();
  const rawExit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    // 'close' comes after the console pipe is drained, so consoleText is complete by then.
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      stderrText += `${err.message}\n`;
      resolve({ code: null, signal: null });
    });
  });
  // Whatever way QEMU ends, its sockets are useless: close QMP, flush the log, remove the run folder.
  const exited = rawExit.then(async (status) => {
    hasExited = true;
    gaveUp.abort('QEMU exited');
    if (child.pid !== undefined) unregisterChild(child.pid);
    qmp?.close();
    await new Promise<void>((r) => log.end(() => r()));
    run.remove();
    return status;
  });
  if (child.pid === undefined) {
    await exited;
    throw new KdiveError(`cannot start ${command.file}: ${lastLine(stderrText)}`);
  }
  registerChild({ pid: child.pid, cleanup: () => run.remove() });

  try {
    qmp = await QmpClient.connect(qmpPath, { timeoutMs: 15_000, signal: gaveUp.signal });
  } catch (err) {
    // QEMU checks its options (kernel file, gdb port) before it answers QMP: if it dies now,
    // its stderr says why, whatever the QMP side saw.
    if (await Promise.race([exited.then(() => true), delay(2000).then(() => false)])) throw startFailure(stderrText, port);
    await killGroup(child, exited);
    throw err;
  }
  if (hasExited) qmp.close();

  let killed: Promise<void> | undefined;
  let exitStatus: { code: number | null; signal: string | null } | undefined;
  let endedByKdive = false;
  void exited.then((status) => (exitStatus = status));
  const client = qmp;
  const instance: QemuInstance = {
    pid: child.pid,
    runDir: run.path,
    accel,
    gdb: { host: '127.0.0.1', port },
    qmp: client,
    consoleLogPath,
    onConsole: (l) => listeners.push(l),
    consoleText: () => consoleText,
    exited,
    get hasExited() {
      return hasExited;
    },
    unexpectedEnd: () => (exitStatus && !endedByKdive ? describeUnexpectedEnd(exitStatus, stderrText) : undefined),
    kill: () =>
      (killed ??= (async () => {
        endedByKdive ||= !hasExited;
        if (!hasExited) {
          // A QEMU that does not answer QMP (hung, or its socket gone): the signals below end it.
          await client.execute('quit', undefined, 1000).catch(() => undefined);
          await Promise.race([exited, delay(2000)]);
        }
        if (!hasExited) await killGroup(child, exited);
        await exited;
      })()),
  };
  return instance;
}

/** How QEMU ended, in one line, unless it was a normal exit (the guest powered off: status 0). */
export function describeUnexpectedEnd(status: { code: number | null; signal: string | null }, stderr: string): string | undefined {
  const last = stderr.trim() ? `; its last message: ${lastLine(stderr)}` : '';
  if (status.signal) return `QEMU was killed by ${status.signal}${last}`;
  if (status.code !== 0 && status.code !== null) return `QEMU exited with status ${status.code}${last}`;
  // QEMU catches SIGTERM, SIGINT and SIGHUP and exits with status 0, saying so on stderr.
  const caught = /terminating on signal (\d+)(?: from pid (\d+))?/.exec(stderr);
  if (caught) return `QEMU was ended by signal ${caught[1]}${caught[2] ? ` from process ${caught[2]}` : ''}, not by the guest`;
  return status.code === null ? `QEMU ended without an exit status${last}` : undefined;
}

function lastLine(stderr: string): string {
  return stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? 'no message';
}

function startFailure(stderr: string, port: number): KdiveError {
  const last = lastLine(stderr);
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
