import { Command, Option } from 'commander';
import { KdiveError } from '../../errors.js';
import { fetchDebianSource, resolveKernel } from '../../kernels/index.js';
import { SourceTree } from '../../session/source-tree.js';
import { isModuleLocation, openSession, type Session, type SessionEvent } from '../../session/session.js';
import { TerminalProgress } from '../progress/terminal-progress.js';
import { stopToJson, stopToText } from '../output/stop-report.js';
import { catchPanics, isPanicStop, panicReport } from '../../crash/panic-report.js';
import { formatSymbolizedTrace, symbolizeTrace } from '../../crash/oops-symbolizer.js';
import { frameLine } from '../../commands/stop-text.js';
import { checkKgdbConfig } from '../../session/kgdb-boot.js';
import { positiveSeconds, qemuOption, vmSizeOptions } from './flag-values.js';
import { resolveQemu } from '../../vm/qemu-choice.js';
import { addDeviceOptions, devicesFromFlags, type DeviceFlags } from './device-options.js';
import { noDebugInfoOption, openKernelSymbols } from './debug-info-option.js';
import { silentProgress } from '../../progress/progress.js';

export const DEFAULT_KERNEL = 'debian:cloud-amd64';

interface RunOptions {
  /** false with --no-debuginfo. */
  debuginfo?: boolean;
  attach?: string;
  kernel: string;
  vmlinux?: string;
  break: string[];
  guest?: string;
  json?: boolean;
  timeout: number;
  console?: boolean;
  append?: string[];
  memory: number;
  cpus: number;
  source?: string;
  kaslr?: boolean;
  catchPanic: boolean;
  transport: 'gdbstub' | 'kgdb';
  qemu?: string;
}

type RunFlags = RunOptions & Partial<DeviceFlags>;

export function registerRunCommands(program: Command): void {
  const run = program
    .command('run')
    .description('boot a kernel, stop at breakpoints while the guest runs a command, print each stop with its backtrace')
    .option('-b, --break <location>', 'break at FUNCTION, FILE:LINE (every place gdb puts it; a line without code moves to the next), MODULE:FUNCTION or *ADDRESS (repeatable)', collect, [])
    .option('-g, --guest <command>', "shell command the guest runs, e.g. 'mkdir /tmp/test' (required unless --attach)")
    .option('--attach <host:port|socket>', 'instead of booting, attach to a stub that is already listening (with --vmlinux): wait for the first breakpoint, print it, detach leaving the kernel running');
  addBootOptions(run).action(async (opts: RunOptions) => {
    if (opts.attach) {
      if (opts.guest !== undefined) throw new KdiveError('--guest makes no sense with --attach: kdive does not start the kernel it attaches to', 2);
      const progress = new TerminalProgress({ quiet: false });
      const { runAttached } = await import('./run-attached.js');
      process.exitCode = await runAttached({ attach: opts.attach, vmlinux: opts.vmlinux, break: opts.break, json: opts.json, timeout: opts.timeout, source: opts.source ? new SourceTree(opts.source) : undefined, progress });
      return;
    }
    if (opts.guest === undefined) throw new KdiveError("required option '-g, --guest <command>' not specified (or --attach HOST:PORT)", 2);
    process.exitCode = await runScenario({ ...opts, guest: opts.guest });
  });

  const demo = program
    .command('demo')
    .description("the classic scenario: break at do_mkdirat while the guest runs 'mkdir /tmp/test'");
  addBootOptions(demo).action(async (opts: Omit<RunOptions, 'break' | 'guest'>) => {
    process.exitCode = await runScenario({ ...opts, break: ['do_mkdirat'], guest: 'mkdir /tmp/test' });
  });
}

function addBootOptions(cmd: Command): Command {
  return addDeviceOptions(cmd)
    .option('-k, --kernel <spec>', "kernel: 'debian:cloud-amd64' or a bzImage path", DEFAULT_KERNEL)
    .option('--vmlinux <file>', 'symbols (ELF vmlinux) for a bzImage given with --kernel')
    .addOption(noDebugInfoOption())
    .option('--json', 'one JSON object per line on stdout')
    .addOption(new Option('--timeout <seconds>', 'give up if the guest has not powered off after this long').argParser(positiveSeconds('--timeout')).default(300))
    .option('--console', 'stream the guest console to stderr')
    .option('--kaslr', 'boot with KASLR on; kdive finds the slide once the kernel runs')
    .option('--no-catch-panic', 'do not stop at panic() to report a kernel panic')
    .addOption(new Option('--transport <stub>', "QEMU's gdbstub, or the kernel's own kgdb on the serial console (a KGDB kernel: kdive kernel build --fragment kgdb)").choices(['gdbstub', 'kgdb']).default('gdbstub'))
    .option('--append <words...>', 'extra kernel command-line words')
    .option('--source <dir|debian>', "show source lines: a kernel source tree, or 'debian' to fetch the matching linux-source package")
    .addOption(vmSizeOptions()[0]!)
    .addOption(vmSizeOptions()[1]!)
    .addOption(qemuOption());
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The error for a QEMU that ended otherwise than by the guest powering off or by kdive. */
function vmGoneError(session: Session): KdiveError | undefined {
  const gone = session.vm?.hasExited ? session.vm.unexpectedEnd() : undefined;
  return gone ? new KdiveError(`${gone}; the guest command did not finish`) : undefined;
}

/** `kdive run`: returns the process exit code (the guest command's status when it ran). */
export async function runScenario(opts: RunFlags & { guest: string }): Promise<number> {
  const timeoutSeconds = opts.timeout;
  const progress = new TerminalProgress({ quiet: false });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const emit = (obj: Record<string, unknown>) => out(JSON.stringify(obj));

  const devices = devicesFromFlags(opts);
  const kernel = await resolveKernel(opts.kernel, { vmlinux: opts.vmlinux, progress, withDebug: opts.debuginfo });
  const qemu = await resolveQemu(opts.qemu, progress);
  // Check every breakpoint against the symbols before booting, so a typo costs no boot and leaves no QEMU.
  const source = opts.source ? new SourceTree(opts.source === 'debian' ? await fetchDebianSource(kernel, { progress }) : opts.source) : undefined;
  if (opts.transport === 'kgdb') await checkKgdbConfig(kernel);
  const symbols = await openKernelSymbols(kernel, opts.debuginfo, { ...silentProgress, note: (m) => progress.note(m) });
  try {
    // MODULE:FUNCTION may name a module that loads later: checked when it does.
    for (const location of opts.break) if (!isModuleLocation(location)) await symbols.checkLocation(location);
  } catch (err) {
    await symbols.close();
    throw err;
  }

  const onConsole = opts.console ? (text: string) => process.stderr.write(text) : undefined;
  const session = opts.transport === 'kgdb'
    ? await openSession({ transport: 'kgdb', symbols, kernel, guestCommand: opts.guest, append: opts.append, progress, onConsole, devices, qemu })
    : await openSession({
        symbols,
        kernel,
        guestCommand: opts.guest,
        append: opts.append,
        memoryMiB: opts.memory,
        cpus: opts.cpus,
        kaslr: opts.kaslr,
        progress,
        onConsole,
        devices,
        qemu,
      });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void session.close();
  }, timeoutSeconds * 1000);
  try {
    for (const location of opts.break) {
      const bp = await session.addBreakpoint(location);
      if (!opts.json) out(bp.pending ? `Breakpoint ${bp.id} (${location}) pending until module ${location.split(":")[0]} loads` : `Breakpoint ${bp.id} at 0x${bp.address.toString(16)}: ${location}${bp.locations.length > 1 ? ` (${bp.locations.length} locations)` : ''}`);
    }
    const panicCatcher = opts.catchPanic === false ? undefined : await catchPanics(session);
    if (!opts.json) out(`Booting ${kernel.version}; guest runs: ${opts.guest}`);
    for (;;) {
      const timeoutError = () => new KdiveError(`the guest did not power off within ${timeoutSeconds} s (--timeout); QEMU was stopped`, 124);
      let event: SessionEvent;
      try {
        event = await session.resume();
      } catch (err) {
        if (timedOut) throw timeoutError();
        throw vmGoneError(session) ?? err;
      }
      // Ending QEMU on timeout looks like a power-off from here.
      if (timedOut) throw timeoutError();
      if (event.kind === 'exit') {
        // Killed or crashed is not a power-off: one line saying how, and no guest status.
        const gone = vmGoneError(session);
        if (gone) throw gone;
        if (opts.json) emit({ event: 'exit', guestStatus: event.guestStatus ?? null, qemuExitCode: event.qemuExitCode });
        else out(event.guestStatus === undefined
          ? `Guest powered off without reporting a status (console log: ${session.vm?.consoleLogPath})`
          : `Guest command exited with status ${event.guestStatus}; the guest powered off.`);
        return event.guestStatus ?? 1;
      }
      if (isPanicStop(event, panicCatcher) && event.kind === 'breakpoint') {
        const panic = await panicReport(session, event);
        if (opts.json) {
          emit({
            event: 'panic',
            message: panic.message,
            frames: stopToJson({ event, args: [], backtrace: { frames: panic.frames, end: { reason: 'end-of-stack' } } }).frames,
            oops: panic.oops,
            oopsFrames: panic.oopsFrames.map((f) => ({ line: f.line, function: f.function, frames: f.frames.map((s) => ({ function: s.function, file: s.shortFile ?? s.file ?? null, line: s.line ?? null })) })),
            dmesg: panic.dmesgTail,
          });
        } else {
          out(`\nKernel panic - not syncing: ${panic.message}`);
          if (panic.oops) out(formatSymbolizedTrace(await symbolizeTrace(panic.oops, session.symbols)));
          out('Backtrace at panic():');
          panic.frames.forEach((f, i) => out(frameLine(f, i)));
          out('dmesg (last lines):');
          for (const l of panic.dmesgTail) out(`  ${l}`);
        }
        return 3;
      }
      const report = {
        event,
        args: await session.argumentRegisters(event.threadId),
        backtrace: await session.backtrace(event.threadId),
      };
      if (source) for (const f of report.backtrace.frames) if (f.file && f.line) f.source = source.line(f.file, f.line);
      if (opts.json) emit(stopToJson(report));
      else out(`\n${stopToText(report)}\n`);
    }
  } finally {
    clearTimeout(timer);
    await session.close();
  }
}
