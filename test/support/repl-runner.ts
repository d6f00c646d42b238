import { Readable, Writable } from 'node:stream';
import { runRepl } from '../../src/cli/repl/repl.js';
import type { Session } from '../../src/session/session.js';

/** Runs REPL lines in-process against a session and returns what they printed. */
export async function replOutput(session: Session, lines: string[]): Promise<string> {
  let out = '';
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  await runRepl(session, { input: Readable.from(lines.map((l) => `${l}\n`)), output });
  return out;
}
