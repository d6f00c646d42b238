/**
 * Errors a user can act on. Front ends print `message` as one line and exit with
 * `exitCode`; anything that is not a KdiveError is a bug and is reported as one.
 */
export class KdiveError extends Error {
  constructor(message: string, readonly exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * For `.catch`: `fallback` when the error is the one expected case of a missing file (ENOENT);
 * any other error (no permission, a folder, I/O) goes on to be reported.
 */
export function whenMissing<T>(fallback: T): (err: unknown) => T {
  return (err) => {
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return fallback;
    throw err;
  };
}

/** For `.catch`: `fallback` when the error is a NotFoundError (the one expected case), else the error goes on. */
export function whenNotFound<T>(fallback: T): (err: unknown) => T {
  return (err) => {
    if (err instanceof NotFoundError) return fallback;
    throw err;
  };
}

/**
 * Text from a file or a stub, made safe for a one-line message: control characters (a newline in a
 * corrupt string table, an escape sequence) become \xNN, so the line stays one line and the
 * terminal is not driven by the input.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** At most `max` characters of quoted input, with an ellipsis when cut (a stub's reply, a name from a file). */
export function clipped(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A file that is not what we expected (truncated ELF, bad DWARF): names the file and offset. */
export class FormatError extends KdiveError {
  constructor(readonly file: string, readonly offset: number | bigint, what: string) {
    super(printable(`${file}: at offset 0x${offset.toString(16)}: ${what}`));
  }
}

/** Something the user asked for does not exist (symbol, snapshot, command). Exit code 2, as for usage errors. */
export class NotFoundError extends KdiveError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A required host program or package is missing. */
export class MissingDependencyError extends KdiveError {
  constructor(readonly program: string, readonly debianPackage: string) {
    super(`${program} not found: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`);
  }
}
