import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineOutput } from './line-output.js';

test('console fragments go out as whole lines; a partial line after a pause or at flush', async () => {
  const out: string[] = [];
  const lines = new LineOutput((t) => out.push(t), 50);
  for (const piece of ['[    0.0', '00000] Linux ver', 'sion 6.1\n[    0.1] x', 'y\n[    0.2]', ' z\n', '~ # ']) lines.write(piece);
  assert.deepEqual(out, ['[    0.000000] Linux version 6.1\n', '[    0.1] xy\n', '[    0.2] z\n']);
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(out.slice(3), ['~ # '], 'the prompt, after the pause');
  lines.write('echo hi');
  lines.flush();
  assert.deepEqual(out.slice(4), ['echo hi']);
  lines.flush();
  assert.equal(out.length, 5, 'nothing twice');
});
