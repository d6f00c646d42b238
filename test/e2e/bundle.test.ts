import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDebianKernel } from '../support/kernel-fixture.js';

/**
 * The installed command (package.json's bin) is the bundle `npm run build` writes: it must answer
 * as the unbundled CLI does, including the name index built on worker threads (a second bundled
 * entry), and stop quietly when its reader closes the pipe.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = import.meta.url.endsWith('.ts') ? path.resolve(here, '../..') : path.resolve(here, '../../..');
const BUNDLE = path.join(repo, 'dist/bundle/main.js');
const UNBUNDLED = path.join(repo, 'dist/src/cli/main.js');

test('the bundled kdive answers as the unbundled one: ptype from a cold cache (index workers), a pipe closed early', async () => {
  assert.ok(existsSync(BUNDLE), `${BUNDLE}: run npm run build`);
  const { vmlinux } = await getDebianKernel();
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kdive-bundle-'));
  try {
    const env = { ...process.env, KDIVE_CACHE: cache, NO_COLOR: '1' };
    const bundled = execFileSync(process.execPath, [BUNDLE, 'sym', vmlinux!, 'ptype', 'struct tcp_sock'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.match(bundled, /^\/\* offset \| size \*\/ {2}type = struct tcp_sock \{/);
    const unbundled = execFileSync(process.execPath, [UNBUNDLED, 'sym', vmlinux!, 'ptype', 'struct tcp_sock'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(bundled, unbundled);
    // `| head -1`: the pipe closes after the first line; kdive stops, status 0, no stack trace.
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BUNDLE}" sym "${vmlinux}" ptype 'struct task_struct' | head -1`], { env, encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.split('\n').length, 2);
    assert.doesNotMatch(r.stderr, /EPIPE|^\s+at /m);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
