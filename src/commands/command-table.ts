import { KdiveError } from '../errors.js';
import { breakpointCommands } from './breakpoint-commands.js';
import { dataCommands } from './data-commands.js';
import { executionCommands } from './execution-commands.js';
import { kernelCommands } from './kernel-commands.js';
import { findCommand, type ReplCommand } from './repl-command.js';
import { sessionCommands } from './session-commands.js';
import { stackCommands } from './stack-commands.js';

/** gdb's commands as kdive has them, shared by the REPL (cli/repl) and the DAP debug console (dap/). */
export function allCommands(): ReplCommand[] {
  const commands: ReplCommand[] = [...breakpointCommands, ...executionCommands, ...stackCommands, ...dataCommands, ...kernelCommands, ...sessionCommands];
  commands.push({
    names: ['help', 'h'],
    help: 'help [COMMAND]: the commands, or one command\'s help',
    async run(args, ctx) {
      if (args) {
        const c = findCommand(commands, args);
        if (!c) throw new KdiveError(`Undefined command: "${args}".  Try "help".`);
        ctx.print(`${c.help}${c.names.length > 1 ? `\n(aliases: ${c.names.slice(1).join(', ')})` : ''}`);
        return;
      }
      for (const c of commands) ctx.print(`${c.names[0]!.padEnd(12)} ${c.help}`);
    },
  });
  return commands;
}
