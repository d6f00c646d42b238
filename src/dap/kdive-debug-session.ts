import { Breakpoint, DebugSession, Handles, InitializedEvent, OutputEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import path from 'node:path';
import { disassemble } from '../arch/x86_64/disassembler.js';
import { ConsoleCommands } from './console-commands.js';
import { LineOutput } from './line-output.js';
import { KdiveError, NotFoundError } from '../errors.js';
import type { EvaluatedValue } from '../expr/evaluated-value.js';
import { fetchDebianSource, resolveKernel } from '../kernels/index.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { sessionEngineSymbols } from '../session/expression-scope.js';
import type { Frame } from '../session/frames.js';
import { openSession, type Session, type SessionEvent } from '../session/session.js';
import { KernelSymbols } from '../session/kernel-symbols.js';
import { parsePortForward } from '../vm/port-forward.js';
import { parseSharedFolder } from '../vm/virtiofs-share.js';
import { SourceTree } from '../session/source-tree.js';
import { resolveQemu } from '../vm/qemu-choice.js';

/** `launch` arguments (docs/vscode.md): what to boot and how. */
interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  kernel?: string;
  vmlinux?: string;
  /** false: no -dbg package, debug from the image's BTF, kallsyms and ORC (as --no-debuginfo). */
  debuginfo?: boolean;
  guest?: string;
  append?: string[];
  kaslr?: boolean;
  /** A kernel source tree (or 'debian'): stack frames then point at real files. */
  source?: string;
  /** 'gdbstub' (QEMU's, the default) or 'kgdb' (the kernel's own, on its serial console). */
  transport?: 'gdbstub' | 'kgdb';
  /** As kdive run's --forward, --share, --disk and --root. */
  forward?: string[];
  share?: string[];
  disk?: string[];
  root?: string;
  /** As --qemu: 'system', '10' or the path of a qemu-system-x86_64 (default KDIVE_QEMU, else system). */
  qemu?: string;
}

interface AttachArguments extends DebugProtocol.AttachRequestArguments {
  host?: string;
  port: number;
  /** The running kernel's symbols; without it, those of `kernel` (default debian:cloud-amd64, from the cache). */
  vmlinux?: string;
  /** false: debug from BTF, kallsyms and ORC even when the symbols have DWARF (as --no-debuginfo). */
  debuginfo?: boolean;
  kernel?: string;
  /** A kernel source tree, or 'debian' for the linux-source package matching `kernel`. */
  source?: string;
}

type VariableContainer = { kind: 'frame'; frame: number; which: 'args' | 'locals' } | { kind: 'registers' } | { kind: 'value'; value: EvaluatedValue };

/**
 * The Debug Adapter Protocol over a kdive Session: requests are translated into session calls and
 * their results into DAP shapes; no debugging logic lives here.
 */
export class KdiveDebugSession extends DebugSession {
  private readonly threadNumbers = new ThreadNumbers();
  private session: Session | undefined;
  private source: SourceTree | undefined;
  private readonly variables = new Handles<VariableContainer>();
  private readonly sourceBreakpoints = new Map<string, number[]>();
  private functionBreakpoints: number[] = [];
  private instructionBreakpoints: number[] = [];
  private frames: Frame[] = [];
  private console: ConsoleCommands | undefined;
  /** The guest's console, one output event per line (QEMU hands it over a few bytes at a time). */
  private readonly guestOutput = new LineOutput((text) => this.sendEvent(new OutputEvent(text, 'stdout')));

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  /** Runs a request handler: its result or its error (one line) becomes the response. */
  private handle(response: DebugProtocol.Response, work: () => Promise<void>): void {
    work().then(
      () => this.sendResponse(response),
      (err: unknown) => this.sendErrorResponse(response, { id: 1001, format: (err instanceof Error ? err.message : String(err)).replace(/[{}]/g, ''), showUser: true }),
    );
  }

  private log(text: string): void {
    this.guestOutput.flush(); // what the guest printed before this comes first
    this.sendEvent(new OutputEvent(`${text}\n`, 'console'));
  }

  /** A progress reporter that only passes notes on (BTF instead of DWARF) to the debug console. */
  private notices(): ProgressReporter {
    return { ...silentProgress, note: (text) => this.log(`kdive: ${text}`) };
  }

  private requireSession(): Session {
    if (!this.session) throw new KdiveError('no kernel: launch or attach first');
    return this.session;
  }

  /**
   * `pathFormat` is optional in `initialize` and defaults to 'path' (the protocol says so); the
   * base class refuses a request without it, as if it asked for URIs. Only 'uri' is refused.
   */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    if (request.command === 'initialize') {
      const args = (request.arguments ?? {}) as DebugProtocol.InitializeRequestArguments;
      request.arguments = { ...args, pathFormat: args.pathFormat ?? 'path' };
    }
    super.dispatchRequest(request);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsInstructionBreakpoints: true,
      supportsEvaluateForHovers: true,
      supportsDisassembleRequest: true,
      supportsReadMemoryRequest: true,
      supportsTerminateRequest: true,
      supportsSteppingGranularity: true,
    };
    this.sendResponse(response);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, args: LaunchArguments): void {
    this.handle(response, async () => {
      const kernel = await resolveKernel(args.kernel ?? 'debian:cloud-amd64', { vmlinux: args.vmlinux, progress: silentProgress, withDebug: args.debuginfo });
      const symbols = await KernelSymbols.open(kernel.vmlinux ?? kernel.bzImage, this.notices(), { dwarf: args.debuginfo !== false });
      if (args.source) this.source = new SourceTree(args.source === 'debian' ? await fetchDebianSource(kernel, { progress: silentProgress }) : args.source);
      const devices = { forwards: (args.forward ?? []).map(parsePortForward), shares: (args.share ?? []).map(parseSharedFolder), disks: args.disk ?? [], root: args.root };
      const common = { kernel, symbols, guestCommand: args.guest ?? 'sleep 86400', append: args.append, devices, qemu: await resolveQemu(args.qemu), onConsole: (t: string) => this.guestOutput.write(t) };
      this.session = await openSession(args.transport === 'kgdb' ? { ...common, transport: 'kgdb' } : { ...common, kaslr: args.kaslr });
      this.log(args.transport === 'kgdb' ? `kdive: booted ${kernel.version ?? kernel.bzImage}; it waits in kgdb on its serial console` : `kdive: booted ${kernel.version ?? kernel.bzImage} halted; gdbstub on ${this.session.vm!.gdb.host}:${this.session.vm!.gdb.port}`);
      this.sendEvent(new InitializedEvent());
    });
  }

  protected override attachRequest(response: DebugProtocol.AttachResponse, args: AttachArguments): void {
    this.handle(response, async () => {
      if (!args.port) throw new KdiveError('attach needs the port of the stub (kdive boot prints it)');
      const kernel = !args.vmlinux || args.source === 'debian' ? await resolveKernel(args.kernel ?? 'debian:cloud-amd64', { progress: silentProgress, withDebug: args.debuginfo }) : undefined;
      const vmlinux = args.vmlinux ?? kernel?.vmlinux ?? kernel?.bzImage;
      if (!vmlinux) throw new KdiveError(`attach: no symbols for ${args.kernel}: give vmlinux`);
      if (args.source) this.source = new SourceTree(args.source === 'debian' ? await fetchDebianSource(kernel!, { progress: silentProgress }) : args.source);
      const symbols = await KernelSymbols.open(vmlinux, this.notices(), { dwarf: args.debuginfo !== false });
      this.session = await openSession({ attach: { host: args.host ?? '127.0.0.1', port: args.port }, vmlinux, symbols });
      this.sendEvent(new InitializedEvent());
    });
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.run(() => this.requireSession().resume());
  }

  /** Resumes or steps in the background and reports the stop (or the end) as an event. */
  private run(op: () => Promise<SessionEvent>, reason?: string): void {
    this.frames = [];
    op().then(
      (event) => {
        if (event.kind === 'exit') {
          const gone = this.session?.vm?.unexpectedEnd();
          this.log(gone ? `kdive: ${gone}; the VM is gone` : `kdive: the guest powered off${event.guestStatus !== undefined ? ` (guest command status ${event.guestStatus})` : ''}`);
          this.sendEvent(new TerminatedEvent());
          return;
        }
        const why = event.kind === 'breakpoint' ? 'breakpoint' : event.kind === 'watchpoint' ? 'data breakpoint' : event.kind === 'stop' && event.reason === 'interrupt' ? 'pause' : reason ?? 'step';
        this.sendEvent(new StoppedEvent(why, this.threadNumbers.numberOf(event.threadId)));
      },
      (err: unknown) => {
        this.log(`kdive: ${err instanceof Error ? err.message : String(err)}`);
        this.sendEvent(new TerminatedEvent());
      },
    );
  }

  /** A client path (absolute in the user's tree, or as DWARF spells it) to a FILE:LINE kdive resolves. */
  private async resolveSourceLine(file: string, line: number): Promise<string> {
    const session = this.requireSession();
    let rel = file;
    if (this.source && file.startsWith(`${path.resolve(this.source.root)}/`)) rel = path.relative(this.source.root, file);
    const parts = rel.split('/').filter(Boolean);
    // Try the path as given, then shorter suffixes (`/home/me/linux/fs/namei.c` -> `fs/namei.c`).
    for (let i = 0; i < parts.length; i++) {
      const candidate = `${parts.slice(i).join('/')}:${line}`;
      if (await session.resolveBreakLocation(candidate).then(() => true, () => false)) return candidate;
    }
    throw new KdiveError(`no code at ${file}:${line}`);
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.handle(response, async () => {
      const session = this.requireSession();
      const file = args.source?.path;
      if (!file) throw new KdiveError('setBreakpoints needs source.path');
      for (const id of this.sourceBreakpoints.get(file) ?? []) {
        // A breakpoint that would not come out is said in the console, not left in silently.
        await session.deleteBreakpoint(id).catch((err: Error) => this.log(`kdive: breakpoint ${id} could not be removed: ${err.message}`));
      }
      const ids: number[] = [];
      const result: DebugProtocol.Breakpoint[] = [];
      for (const b of args.breakpoints ?? []) {
        try {
          const location = await this.resolveSourceLine(file, b.line);
          const bp = await session.addBreakpoint(location, { condition: b.condition, ignoreCount: hitCount(b.hitCondition) });
          ids.push(bp.id);
          // A line without code moves to the next line with code, as in gdb; the editor shows where it went.
          const out = new Breakpoint(true, bp.locations[0]?.line ?? b.line, undefined, new Source(path.basename(file), file)) as DebugProtocol.Breakpoint;
          out.id = bp.id;
          result.push(out);
        } catch (err) {
          const out = new Breakpoint(false, b.line) as DebugProtocol.Breakpoint;
          out.message = err instanceof Error ? err.message : String(err);
          result.push(out);
        }
      }
      this.sourceBreakpoints.set(file, ids);
      response.body = { breakpoints: result };
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.handle(response, async () => {
      this.functionBreakpoints = await this.replaceBreakpoints(this.functionBreakpoints, args.breakpoints.map((b) => ({ location: b.name, condition: b.condition, hit: b.hitCondition })), response);
    });
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    this.handle(response, async () => {
      this.instructionBreakpoints = await this.replaceBreakpoints(this.instructionBreakpoints, args.breakpoints.map((b) => ({ location: `*0x${(BigInt(b.instructionReference) + BigInt(b.offset ?? 0)).toString(16)}`, condition: b.condition, hit: b.hitCondition })), response);
    });
  }

  private async replaceBreakpoints(old: number[], wanted: { location: string; condition?: string; hit?: string }[], response: DebugProtocol.Response): Promise<number[]> {
    const session = this.requireSession();
    // Already gone (deleted from the debug console): the expected case; any other failure is said.
    for (const id of old) await session.deleteBreakpoint(id).catch((err: Error) => (err instanceof NotFoundError ? undefined : this.log(`kdive: breakpoint ${id} could not be removed: ${err.message}`)));
    const ids: number[] = [];
    const result: DebugProtocol.Breakpoint[] = [];
    for (const w of wanted) {
      try {
        const bp = await session.addBreakpoint(w.location, { condition: w.condition, ignoreCount: hitCount(w.hit) });
        ids.push(bp.id);
        // A MODULE:FUNCTION of a module not loaded yet is set at its load; until then it is unverified.
        if (bp.pending) result.push({ id: bp.id, verified: false, message: `pending: ${w.location} is set when its module loads` });
        else result.push({ id: bp.id, verified: true, instructionReference: `0x${bp.address.toString(16)}` });
      } catch (err) {
        result.push({ verified: false, message: err instanceof Error ? err.message : String(err) });
      }
    }
    response.body = { breakpoints: result };
    return ids;
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    this.handle(response, async () => {
      const threads = this.session && !this.session.isRunning
        ? await this.session.threads().catch((err: Error) => (this.log(`kdive: cannot list the vCPUs (${err.message}): showing CPU 0`), []))
        : [];
      response.body = { threads: threads.length ? threads.map((t) => new Thread(this.threadNumbers.numberOf(t.id), t.description ?? `CPU ${t.cpu ?? t.id}`)) : [new Thread(1, 'CPU 0')] };
    });
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    this.handle(response, async () => {
      const session = this.requireSession();
      session.selectedThread = this.threadNumbers.idOf(args.threadId);
      this.frames = (await session.backtrace(session.selectedThread)).frames;
      const start = args.startFrame ?? 0;
      const count = args.levels || this.frames.length;
      response.body = {
        totalFrames: this.frames.length,
        stackFrames: this.frames.slice(start, start + count).map((f, i) => {
          const sf = new StackFrame(start + i, f.function ?? `0x${f.pc.toString(16)}`, f.file ? new Source(path.basename(f.file), this.source ? this.source.localPath(f.file) : f.file) : undefined, f.line ?? 0, 1) as DebugProtocol.StackFrame;
          sf.instructionPointerReference = `0x${f.pc.toString(16)}`;
          if (f.inlined) sf.presentationHint = 'subtle';
          return sf;
        }),
      };
    });
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    response.body = {
      scopes: [
        new Scope('Arguments', this.variables.create({ kind: 'frame', frame: args.frameId, which: 'args' }), false),
        new Scope('Locals', this.variables.create({ kind: 'frame', frame: args.frameId, which: 'locals' }), false),
        new Scope('Registers', this.variables.create({ kind: 'registers' }), true),
      ],
    };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    this.handle(response, async () => {
      const session = this.requireSession();
      const container = this.variables.get(args.variablesReference);
      if (!container) throw new KdiveError(`no variables under reference ${args.variablesReference}`);
      let vars: DebugProtocol.Variable[] = [];
      if (container.kind === 'registers') {
        const regs = await session.registers();
        vars = regs.names().flatMap((n) => {
          const v = regs.get(n);
          return v === undefined ? [] : [{ name: n, value: `0x${v.toString(16)}`, variablesReference: 0 }];
        });
      } else if (container.kind === 'frame') {
        const f = this.frames[container.frame] ?? (await session.backtrace()).frames[container.frame];
        for (const a of (container.which === 'args' ? f?.args : f?.locals) ?? []) {
          // The value as the expression engine sees it in that frame, so structs and pointers expand.
          // <optimized out> and <unavailable> values do not evaluate: the backtrace's text shows them.
          const value = await session.evaluate(a.name, { frame: container.frame }).catch(() => undefined);
          vars.push(this.variable(a.name, value, a.value, a.type));
        }
      } else {
        for (const c of await container.value.children()) vars.push(this.variable(c.name, c.value));
      }
      response.body = { variables: vars };
    });
  }

  private variable(name: string, value: EvaluatedValue | undefined, fallbackText = '', fallbackType = ''): DebugProtocol.Variable {
    return {
      name,
      value: value?.text ?? fallbackText,
      type: value?.type ?? fallbackType,
      variablesReference: value?.hasChildren ? this.variables.create({ kind: 'value', value }) : 0,
      memoryReference: value?.address !== undefined ? `0x${value.address.toString(16)}` : undefined,
    };
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.handle(response, async () => {
      const session = this.requireSession();
      const frame = args.frameId ?? 0;
      let value: EvaluatedValue | undefined;
      if (args.context === 'repl') {
        // The debug console also takes the REPL's commands: `-exec LINE`, or a line that is not an expression.
        this.console ??= new ConsoleCommands(session, this.source);
        const commands = this.console;
        const explicit = ConsoleCommands.explicit(args.expression);
        value = explicit === undefined
          ? await session.evaluate(args.expression, { frame }).catch((err: unknown) => {
              if (err instanceof KdiveError && commands.isCommand(args.expression)) return undefined;
              throw err;
            })
          : undefined;
        if (!value) {
          response.body = { result: await commands.run(explicit ?? args.expression, frame), variablesReference: 0 };
          return;
        }
      } else value = await session.evaluate(args.expression, { frame });
      response.body = { result: value.text, type: value.type, variablesReference: value.hasChildren ? this.variables.create({ kind: 'value', value }) : 0, memoryReference: value.address !== undefined ? `0x${value.address.toString(16)}` : undefined };
    });
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    this.run(() => this.requireSession().resume());
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.sendResponse(response);
    const session = this.requireSession();
    this.run(() => (args.granularity === 'instruction' ? session.stepInstruction({ over: true }) : session.stepLine({ over: true })), 'step');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.sendResponse(response);
    const session = this.requireSession();
    this.run(() => (args.granularity === 'instruction' ? session.stepInstruction() : session.stepLine({ over: false })), 'step');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.sendResponse(response);
    const session = this.requireSession();
    this.run(async () => (await session.finish()).event, 'step');
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.handle(response, async () => {
      const session = this.requireSession();
      if (session.isRunning) void session.interrupt().catch((err: unknown) => this.log(`kdive: ${err instanceof Error ? err.message : String(err)}`));
    });
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    this.handle(response, async () => {
      const address = BigInt(args.memoryReference) + BigInt(args.offset ?? 0);
      const data = await this.requireSession().readMemory(address, Math.min(args.count, 1 << 20));
      response.body = { address: `0x${address.toString(16)}`, data: data.toString('base64') };
    });
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    this.handle(response, async () => {
      const session = this.requireSession();
      const start = BigInt(args.memoryReference) + BigInt(args.offset ?? 0);
      const code = await session.readMemory(start, Math.max(16, args.instructionCount * 15));
      const names = sessionEngineSymbols(session.symbols);
      response.body = {
        instructions: disassemble(code, start, (a) => names.symbolAt(a), args.instructionCount).map((i) => ({
          address: `0x${i.address.toString(16)}`,
          instructionBytes: [...i.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' '),
          instruction: i.text,
          symbol: names.symbolAt(i.address),
        })),
      };
    });
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.handle(response, async () => {
      await this.session?.close();
      this.sendEvent(new TerminatedEvent());
    });
  }

  /**
   * The client went away without disconnect (its end of stdio or of the socket closed): the
   * kernel's QEMU and run folder go too. On stdio the base class then ends the process.
   */
  override shutdown(): void {
    const session = this.session;
    this.session = undefined;
    this.console = undefined;
    const end = session ? session.close().catch((err: unknown) => process.stderr.write(`kdive dap: closing the session: ${err instanceof Error ? err.message : String(err)}\n`)) : Promise.resolve();
    void end.finally(() => super.shutdown());
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.handle(response, async () => {
      await this.session?.close();
      this.session = undefined;
      this.console = undefined;
    });
  }
}

/**
 * DAP thread ids are numbers; a stub's are strings in its own format (QEMU's "01" or "p01.02",
 * kgdb's task ids). Numbers are handed out in the order threads are first seen, whatever the stub.
 */
class ThreadNumbers {
  private readonly byId = new Map<string, number>();
  private readonly ids: string[] = [];

  numberOf(id: string): number {
    let n = this.byId.get(id);
    if (n === undefined) {
      this.ids.push(id);
      n = this.ids.length;
      this.byId.set(id, n);
    }
    return n;
  }

  /** The stub's id for a DAP thread number; undefined for a number never handed out (the current thread is kept). */
  idOf(n: number): string | undefined {
    return this.ids[n - 1];
  }
}

/** A hit condition as VS Code sends it (`3`, `>= 3`): the hits to let pass before stopping. */
function hitCount(condition: string | undefined): number | undefined {
  const m = condition ? /^\s*(?:>=|==|=)?\s*(\d+)\s*$/.exec(condition) : null;
  if (!condition) return undefined;
  if (!m) throw new KdiveError(`hit condition '${condition}': kdive understands a number (stop at that hit)`);
  return Math.max(0, Number(m[1]) - 1);
}
