import { KdiveError, printable } from '../errors.js';

export class TargetError extends KdiveError {
  constructor(message: string, readonly code?: string) {
    // Messages quote what the stub sent: keep them one line.
    super(printable(message));
  }
}

/** The stub closed the connection (QEMU exited, kgdb detached). */
export class ConnectionClosedError extends TargetError {
  constructor(where: string) {
    super(`${where}: the debug stub closed the connection`);
  }
}

/** A request got no answer in time. */
export class TargetTimeoutError extends TargetError {
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the debug stub within ${ms} ms`);
  }
}
