/**
 * What users type: C expressions, type names, x/FMT letters, printf lines, and whole REPL command
 * lines run against a session on the toy kernel (the FAKE stub of test/support/fake-rsp-stub.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseExpression } from '../../../src/expr/c-expression-parser.js';
import { parseExamineFormat } from '../../../src/commands/memory-examine.js';
import { splitPrintfLine } from '../../../src/commands/printf-format.js';
import { allCommands, runCommandLine } from '../../../src/cli/repl/repl.js';
import { findCommand, splitCommandLine, type ReplContext } from '../../../src/commands/repl-command.js';
import { attachSession } from '../../../src/session/open-session.js';
import type { Session } from '../../../src/session/session.js';
import { parsedOrRejected, property, regressions, type FuzzProperty } from '../fuzz-property.js';
import { mutatedTextFrom } from '../mutation.js';
import { serveToyKernelStub, type ToyKernelStub } from '../../support/toy-kernel-stub.js';

const EXPRESSIONS = [
  'init_task.comm', '*init_task.parent', 'numbers[1] + 2 * 3', '(char)65', 'sizeof(struct task)', '&init_task.pos',
  '$rip', '$lx_current()->pid', 'counter >= 42 && !(counter & 1) ? -1 : 0x7fffffffffffffff', '((struct task *)0xffffffff82000000)->pos.y',
  "'a' + \"s\"[0]", 'numbers[counter % 4] << 3 | ~0u', 'init_task.flags == 5 || current_color == BLUE',
];

/** Commands that resume or end the target, or change what later lines mean: not run by the fuzzer. */
const NOT_RUN = new Set(['continue', 'step', 'next', 'stepi', 'nexti', 'finish', 'until', 'advance', 'detach', 'kill', 'quit', 'commands', 'monitor']);

const COMMAND_LINES = [
  'p init_task', 'p/x counter', 'print init_task.comm', 'ptype struct task', 'whatis numbers[1]', 'x/4gx &numbers', 'x/s banner',
  'x/3i $pc', 'info registers rip', 'info frame', 'info symbol add', 'info line add', 'info breakpoints', 'info threads', 'bt full',
  'bt 1', 'frame 1', 'up', 'down', 'break add', 'break main.c:12', 'tbreak *0xffffffff81000000', 'hbreak util_fn', 'watch counter',
  'delete 1', 'disable 1.1', 'enable 2', 'condition 1 a == 3', 'ignore 1 2', 'printf "%d %s %c %5.2x\\n", counter, banner, 65, 7',
  'echo hi\\n', 'output numbers', 'disassemble add', 'list add', 'vtop 0xffffffff82000000', 'p $rip', 'p sizeof(struct task)',
  'thread 1', 'help break', 'ps', 'dmesg', 'lsmod', 'uname', 'info locals', 'info args', 'x/2wx 0', 'p *(int *)0', 'snapshot list',
];

/** One session for all the cases: commands that do not resume leave the target as they found it. */
let fixture: Promise<{ stub: ToyKernelStub; session: Session }> | undefined;
function toySession() {
  fixture ??= (async () => {
    const stub = await serveToyKernelStub();
    const session = await attachSession({ vmlinux: stub.vmlinux, port: stub.port });
    return { stub, session };
  })();
  return fixture;
}

export const commandLineProperties: FuzzProperty[] = [
  property('C expression parser', 'any text: an expression tree or an ExpressionSyntaxError at a column', fc.oneof(mutatedTextFrom(EXPRESSIONS), fc.string({ maxLength: 60 })), (text) => {
    parsedOrRejected(() => parseExpression(text, (name) => name === 'task_t'), /\(at column \d+\)$/);
  }),
  property('x/FMT letters', 'any letters: a format with a sane count and size, or a one-line error', fc.oneof(fc.tuple(fc.oneof(fc.constant(''), fc.nat().map(String), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String)), fc.stringMatching(/^[a-z]{0,4}$/)).map(([n, l]) => n + l), fc.string({ maxLength: 10 })), (fmt) => {
    const f = parsedOrRejected(() => parseExamineFormat(fmt), /format|letter|too large/);
    if (f) assert.ok(Number.isSafeInteger(f.count) && f.count >= 0 && [1, 2, 4, 8].includes(f.size), JSON.stringify(f));
  }),
  property('printf line', 'any line: a format and arguments, or one line saying what is wrong', fc.oneof(mutatedTextFrom(['"%d %s\\n", counter, banner', '"%c%c", 65, f(1, 2)', '"\\x41\\101\\e"']), fc.string({ maxLength: 40 })), (line) => {
    const r = parsedOrRejected(() => splitPrintfLine(line), /printf/);
    if (r) assert.ok(r.args.every((a) => typeof a === 'string'));
  }),
  {
    ...property('REPL command line', 'any line at the prompt: output or one line saying what is wrong; never an internal error', fc.oneof({ weight: 3, arbitrary: mutatedTextFrom(COMMAND_LINES, 3) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }), async (line) => {
      const name = splitCommandLine(line).name;
      const cmd = findCommand(allCommands(), name);
      if (cmd && NOT_RUN.has(cmd.names[0]!)) return;
      const { session } = await toySession();
      const printed: string[] = [];
      const ctx: ReplContext = { session, frame: 0, print: (t) => printed.push(t), write: (t) => printed.push(t) };
      await runCommandLine(line, ctx, allCommands());
      const internal = printed.find((t) => t.startsWith('internal error'));
      assert.equal(internal, undefined, `${JSON.stringify(line)} -> ${internal}`);
      // Breakpoints a case set stay in kdive's table only (the target does not run); clear them.
      for (const bp of session.breakpoints.all()) await session.deleteBreakpoint(bp.id);
    }),
    dispose: async () => {
      if (!fixture) return;
      const { stub, session } = await fixture;
      fixture = undefined;
      await session.close();
      await stub.close();
    },
  },
];

// Inputs that broke these properties once (npm run fuzz, issue 23).
regressions(commandLineProperties, 'x/FMT letters', ['99999999999999999999x', '4294967296b']);
regressions(commandLineProperties, 'printf line', ['"%c%c",']);
