import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { TerminalProgress } from './terminal-progress.js';

/** A stream that keeps what is written, optionally claiming to be a terminal. */
function captureStream(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { isTTY: boolean; columns: number; text: () => string };
  w.isTTY = isTTY;
  w.columns = 100;
  w.text = () => chunks.join('');
  return w;
}

const MB = 1 << 20;

test('plain lines off a terminal: a start line, one per 10 % step, a final line, no escape codes', () => {
  const out = captureStream(false);
  const p = new TerminalProgress({ stream: out });
  p.note('using cached linux-image-x 1-1');
  const t = p.start('downloading linux-image-x-dbg', 283 * MB, 'bytes');
  // 100 small steps: far more updates than lines.
  for (let i = 1; i <= 100; i++) t.update((283 * MB * i) / 100);
  t.finish();
  const text = out.text();
  assert.doesNotMatch(text, /\x1b/, 'no escape codes in a log');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'using cached linux-image-x 1-1');
  assert.equal(lines[1], 'downloading linux-image-x-dbg...');
  const pct = lines.filter((l) => /: \d+% \(/.test(l));
  assert.deepEqual(pct.map((l) => /: (\d+)%/.exec(l)![1]), ['10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
  assert.equal(pct[4], 'downloading linux-image-x-dbg: 50% (142/283 MB)');
  assert.match(lines.at(-1)!, /^downloading linux-image-x-dbg: done in \d+\.\d s$/);
});

test('plain lines: a failure says so; counts without bytes keep their unit', () => {
  const out = captureStream(false);
  const p = new TerminalProgress({ stream: out });
  const t = p.start('indexing', 10, 'units');
  t.update(5);
  t.fail('disk full');
  assert.equal(out.text(), 'indexing...\nindexing: 50% (5/10 units)\nindexing: failed: disk full\n');
});

test('quiet prints nothing at all', () => {
  const out = captureStream(true);
  const p = new TerminalProgress({ stream: out, quiet: true, tty: true });
  p.note('x');
  const t = p.start('downloading', 100, 'bytes');
  t.update(50);
  t.finish('ok');
  p.start('other').fail('no');
  assert.equal(out.text(), '');
});

test('on a terminal: a bar with the label and the MB count, and no colour codes', () => {
  const out = captureStream(true);
  const p = new TerminalProgress({ stream: out, tty: true });
  const t = p.start('unpacking x.deb', 200 * MB, 'bytes');
  t.update(100 * MB);
  t.finish();
  const text = out.text();
  assert.match(text, /unpacking x\.deb \[[#-]+\] 100% 200\/200 MB/);
  // Cursor movement is fine on a terminal; colour (SGR, ESC [ ... m) never appears.
  assert.doesNotMatch(text, /\x1b\[[0-9;]*m/);
});
