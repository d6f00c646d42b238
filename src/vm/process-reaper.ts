/**
 * Ends every child process group we started, on every way out of this process: normal exit,
 * an error, SIGINT (Ctrl-C), SIGTERM, SIGHUP. Children are spawned with `detached: true`
 * so that `kill(-pid)` reaches QEMU and anything it started.
 */
interface Reapable {
  pid: number;
  /** Synchronous last-chance cleanup (remove a run folder). */
  cleanup?: () => void;
}

const children = new Map<number, Reapable>();
let installed = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export function registerChild(child: Reapable): void {
  children.set(child.pid, child);
  install();
}

export function unregisterChild(pid: number): void {
  children.delete(pid);
  if (children.size === 0) uninstall();
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
}

function onSignal(signal: NodeJS.Signals): void {
  reapAll();
  uninstall();
  process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
}

function onExit(): void {
  reapAll();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}
