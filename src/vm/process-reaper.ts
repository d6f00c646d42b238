/**
 * Ends every child process group we started, on every way out of this process: normal exit,
 * an error, an uncaught exception, SIGINT (Ctrl-C), SIGTERM, SIGHUP. Children are spawned with
 * `detached: true` so that `kill(-pid)` reaches QEMU and anything it started.
 *
 * Handlers are installed only while something is registered, so an idle registry neither
 * changes how signals behave nor keeps the event loop alive (signal watchers never do).
 */
interface Reapable {
  pid: number;
  /** Synchronous last-chance cleanup (remove a run folder). */
  cleanup?: () => void;
}

const children = new Map<number, Reapable>();
/** Cleanups not tied to a process (a run folder made before QEMU starts), run after the kills. */
const cleanups = new Set<() => void>();
let installed = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export function registerChild(child: Reapable): void {
  children.set(child.pid, child);
  install();
}

export function unregisterChild(pid: number): void {
  children.delete(pid);
  if (children.size === 0 && cleanups.size === 0) uninstall();
}

/**
 * Runs `cleanup` on every way out of this process (as for children) unless the returned function
 * is called first, when the thing is cleaned up the ordinary way.
 */
export function registerCleanup(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (children.size === 0 && cleanups.size === 0) uninstall();
  };
}

/** Pids of the process groups registered now (for tests and diagnostics). */
export function registeredChildren(): number[] {
  return [...children.keys()];
}

/** Kills every registered group now (SIGKILL) and runs their cleanups. */
export function reapAll(): void {
  for (const child of children.values()) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    try {
      child.cleanup?.();
    } catch {
      // best effort on the way out
    }
  }
  children.clear();
  for (const cleanup of [...cleanups]) {
    try {
      cleanup();
    } catch {
      // best effort on the way out
    }
  }
  cleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  reapAll();
  uninstall();
  process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
}

function onExit(): void {
  reapAll();
}

function onUncaught(): void {
  // With no handler Node prints the error and exits with 1 ('exit' would reap too, but first is
  // better). A process that handles its uncaught exceptions (the test runner) lives on: leave it be.
  if (process.listenerCount('uncaughtException') === 0) reapAll();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  process.on('uncaughtExceptionMonitor', onUncaught);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  process.off('uncaughtExceptionMonitor', onUncaught);
  for (const s of SIGNALS) process.off(s, onSignal);
}
