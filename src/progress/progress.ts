/**
 * Long work (downloads, extraction, indexing, kernel builds) reports through this,
 * so lower layers never write to the terminal themselves. Front ends pick the
 * rendering: a bar on a TTY, plain lines otherwise, nothing under --json.
 */
export interface ProgressReporter {
  /** Starts a task; `total` is in `unit` (bytes, files, units...) when known. */
  start(label: string, total?: number, unit?: string): ProgressTask;
  /** A one-off informational line (e.g. "using cached kernel 6.1.0-56"). */
  note(message: string): void;
}

export interface ProgressTask {
  update(done: number, total?: number): void;
  finish(message?: string): void;
  fail(message?: string): void;
}

/** Reports nothing: for library callers and tests. */
export const silentProgress: ProgressReporter = {
  start: () => ({ update() {}, finish() {}, fail() {} }),
  note() {},
};
