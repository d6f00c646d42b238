import { allCommands } from '../commands/command-table.js';
import { findCommand, splitCommandLine, type ReplCommand, type ReplContext } from '../commands/repl-command.js';
import { KdiveError } from '../errors.js';
import type { Session } from '../session/session.js';
import type { SourceTree } from '../session/source-tree.js';

/**
 * Commands that move the kernel or end the session belong to the editor's own controls: run from
 * the console they would change state behind the adapter's back (no stopped event, stale frames).
 */
const EDITOR_CONTROLLED = new Set(['continue', 'step', 'next', 'stepi', 'nexti', 'finish', 'until', 'advance', 'detach', 'kill', 'quit', 'commands']);

/**
 * The REPL's commands in the editor's debug console (`bt`, `info registers`, `x/8gx $sp`, `ps`,
 * `dmesg`), as `-exec LINE` (the C/C++ extension's convention) or, when the line is not an
 * expression, by its command name.
 */
export class ConsoleCommands {
  private readonly commands: ReplCommand[] = allCommands();
  private readonly ctx: ReplContext;
  private output = '';

  constructor(session: Session, source: SourceTree | undefined) {
    this.ctx = {
      session,
      frame: 0,
      source,
      print: (text) => (this.output += `${text}\n`),
      write: (text) => (this.output += text),
    };
  }

  /** `-exec LINE`: the command line, always. */
  static explicit(text: string): string | undefined {
    const m = /^-exec\s+(.*)$/s.exec(text.trim());
    return m ? m[1]! : undefined;
  }

  /** Whether LINE starts with the name of a command the console runs. */
  isCommand(line: string): boolean {
    const cmd = findCommand(this.commands, splitCommandLine(line).name);
    return cmd !== undefined && !EDITOR_CONTROLLED.has(cmd.names[0]!);
  }

  /** Runs LINE in frame FRAME and returns what it printed; a command error is thrown as one line. */
  async run(line: string, frame: number): Promise<string> {
    const { name, fmt, args } = splitCommandLine(line);
    const cmd = findCommand(this.commands, name);
    if (!cmd) throw new KdiveError(`Undefined command: "${name}".  Try "-exec help".`);
    if (cmd.names[0] === 'commands') throw new KdiveError('"commands" reads the lines that follow it: use it in kdive debug (the editor has logpoints)');
    if (EDITOR_CONTROLLED.has(cmd.names[0]!)) throw new KdiveError(`"${cmd.names[0]}" is the editor's to do here: use its continue, step and stop controls`);
    this.output = '';
    this.ctx.frame = frame;
    await cmd.run(args, this.ctx, fmt);
    return this.output.replace(/\n$/, '');
  }
}
