import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { KdiveError } from '../../errors.js';
import { kdiveCacheDir as defaultCacheDir } from '../../cache-dir.js';
import type { Session } from '../../session/session.js';
import type { SourceTree } from '../../session/source-tree.js';
import { collectCommandLine } from '../../commands/breakpoint-commands.js';
import { allCommands } from '../../commands/command-table.js';
import { findCommand, INFO_WHILE_RUNNING, NOT_A_READ, splitCommandLine, vmGone, WHILE_RUNNING, type ReplCommand, type ReplContext } from '../../commands/repl-command.js';
export { allCommands } from '../../commands/command-table.js';

/** Commands that an empty line repeats, as in gdb. */
const REPEATABLE = new Set(['step', 'next', 'stepi', 'nexti', 'continue', 'x', 'list']);
const INFO_TOPICS = ['registers', 'args', 'locals', 'frame', 'threads', 'breakpoints', 'symbol', 'line'];

/** Runs one command line; errors become one line and the session goes on. */
export async function runCommandLine(line: string, ctx: ReplContext, commands: ReplCommand[]): Promise<void> {
  const { name, fmt, args } = splitCommandLine(line);
  const cmd = findCommand(commands, name);
  if (!cmd) {
    ctx.print(`Undefined command: "${name}".  Try "help".`);
    return;
  }
  if (ctx.session.isRunning && (!WHILE_RUNNING.has(cmd.names[0]!) || (cmd.names[0] === 'info' && !INFO_WHILE_RUNNING.test(args)))) {
    ctx.print(`The kernel is running: ${cmd.names[0]} needs it stopped ('interrupt' stops it; print, x, ps, dmesg and lsmod read it while it runs).`);
    return;
  }
  // Said before what was read, so a script's output shows which values came from a moving kernel.
  if (ctx.session.isRunning && !NOT_A_READ.has(cmd.names[0]!)) ctx.print('(read while the kernel runs)');
  try {
    await cmd.run(args, ctx, fmt);
  } catch (err) {
    // Whatever failed underneath (a closed connection...), the reason is the VM's end.
    const gone = vmGone(ctx, false);
    if (gone) ctx.print(`The VM is gone (${gone}): ${name} cannot run. quit leaves.`);
    else if (err instanceof KdiveError) ctx.print(err.message);
    else ctx.print(`internal error: ${err instanceof Error ? err.message : String(err)}${process.env.KDIVE_DEBUG && err instanceof Error ? `\n${err.stack}` : ''}`);
  }
}

/**
 * The gdb-like prompt over a session: history in the kdive cache, tab completion of commands and
 * symbols, Ctrl-C that stops the running kernel (at the prompt it only clears the line).
 * Reads a script line by line when stdin is not a terminal. Resolves when the user quits.
 */
export async function runRepl(session: Session, opts: { source?: SourceTree; input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream } = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  // Line editing needs a terminal on both sides; the prompt only needs someone typing: with stdin a
  // terminal and stdout piped (`kdive debug | tee log`) it is still printed. With stdin not a
  // terminal (a script, `kdive debug < cmds.txt`) there is no prompt, as with gdb: the output is
  // the commands' output alone.
  const terminal = (input as NodeJS.ReadStream).isTTY === true && (output as NodeJS.WriteStream).isTTY === true;
  const interactive = (input as NodeJS.ReadStream).isTTY === true;
  const historyFile = path.join(defaultCacheDir(), 'repl-history');
  let history: string[] = [];
  try {
    history = readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 1000);
  } catch {
    // no history yet
  }
  const commands = allCommands();
  const names = commands.flatMap((c) => c.names);
  const completer = (line: string): [string[], string] => {
    const words = line.split(/\s+/);
    const last = words[words.length - 1] ?? '';
    if (words.length <= 1) return [names.filter((n) => n.startsWith(last)).sort(), last];
    if (words[0] === 'info' || words[0] === 'i') return [INFO_TOPICS.filter((t) => t.startsWith(last)), last];
    const prefix = last.replace(/^[*&(!-]+/, '');
    if (prefix.length < 2) return [[], last];
    const lead = last.slice(0, last.length - prefix.length);
    return [session.symbols.table.namesWithPrefix(prefix, 100).map((n) => lead + n), last];
  };
  const rl = readline.createInterface({ input, output, terminal, completer, history, historySize: 1000, prompt: '(kdive) ' });
  const ctx: ReplContext = {
    session,
    frame: 0,
    source: opts.source,
    print: (t) => output.write(`${t}\n`),
    write: (t) => output.write(t),
    runLine: (line) => runCommandLine(line, ctx, commands),
    prompt: () => {
      if (interactive) rl.prompt(true);
    },
  };
  // A QEMU killed or crashed while at the prompt (or while the kernel runs) is said at once.
  void session.vm?.exited.then(() => {
    if (!ctx.quitting) vmGone(ctx);
  });
  rl.on('SIGINT', () => {
    if (session.isRunning) {
      session.interrupt().catch((err: unknown) => ctx.print(err instanceof Error ? err.message : String(err)));
    } else {
      output.write('^C\n');
      rl.prompt();
    }
  });
  let previous = '';
  if (interactive) rl.prompt();
  for await (const raw of rl) {
    let line = raw.trim();
    if (ctx.collecting) {
      // The body of `commands`, up to `end`.
      if (collectCommandLine(ctx, line)) rl.setPrompt('(kdive) ');
      if (interactive) rl.prompt();
      continue;
    }
    if (!line) {
      if (!terminal || !REPEATABLE.has(findCommand(commands, splitCommandLine(previous).name)?.names[0] ?? '')) {
        if (interactive) rl.prompt();
        continue;
      }
      line = previous;
    } else if (!line.startsWith('#')) {
      previous = line;
      try {
        mkdirSync(path.dirname(historyFile), { recursive: true });
        appendFileSync(historyFile, `${line}\n`);
      } catch {
        // history is a convenience
      }
    }
    if (!line.startsWith('#')) await runCommandLine(line, ctx, commands);
    if (ctx.quitting) break;
    if (ctx.collecting) rl.setPrompt('>');
    if (interactive) rl.prompt();
  }
  rl.close();
}
