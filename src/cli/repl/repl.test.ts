import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Session } from '../../session/session.js';
import { runRepl } from './repl.js';
import { scratchDir } from '../../../test/support/own-resources.js';

process.env.KDIVE_CACHE = scratchDir('kdive-cache-'); // the history file goes there, not in the user's cache

/** The REPL over in-memory streams; `typing` marks stdin as a terminal. Commands here need no kernel. */
async function replOutput(lines: string, typing: boolean): Promise<string> {
  const input = Object.assign(new PassThrough(), { isTTY: typing });
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  input.end(lines);
  await runRepl({ isRunning: false } as unknown as Session, { input, output });
  return text;
}

test('REPL: with someone typing and stdout piped the prompt is printed; a script gets the output alone', async () => {
  assert.equal(await replOutput('echo hi\\n\nquit\n', true), '(kdive) hi\n(kdive) ');
  assert.equal(await replOutput('echo hi\\n\nquit\n', false), 'hi\n');
});
