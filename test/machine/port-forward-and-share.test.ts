import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { freeLoopbackPort } from '../../src/vm/free-port.js';
import { findStaticBusybox } from '../../src/rootfs/busybox.js';
import { scratchDir } from '../support/own-resources.js';

/** GET http://127.0.0.1:PORT/ until it answers (the guest boots meanwhile), or give up after `tries`. */
async function fetchWhenUp(port: number, tries = 600): Promise<string> {
  for (let i = 0; i < tries; i++) {
    const body = await new Promise<string | undefined>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/index.html', timeout: 2000 }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(res.statusCode === 200 ? text : undefined));
      });
      req.on('error', () => resolve(undefined));
      req.on('timeout', () => req.destroy());
    });
    if (body !== undefined) return body;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`nothing answered on 127.0.0.1:${port}`);
}

/** Connects until the guest's `nc -l` takes the connection and closes it. */
async function knock(port: number): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end('bye\n', () => resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('--forward: a busybox httpd in the guest is reached from the host through 127.0.0.1', async () => {
  await getDebianKernel();
  const token = randomBytes(8).toString('hex');
  const [web, done] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const before = qemuPids();
  // The guest serves a page with the token, then waits on a second forward for the host to say it is done.
  const run = runKdive(['run', '--forward', `${web}:80`, '--forward', `${done}:81`, '-g',
    `mkdir -p /www && echo page-${token} > /www/index.html && httpd -p 80 -h /www && nc -l -p 81 > /dev/null; echo finished`], { timeoutMs: 400_000 });
  const page = await fetchWhenUp(web);
  assert.equal(page.trim(), `page-${token}`);
  await knock(done);
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Guest command exited with status 0/);
  assert.deepEqual(newQemuPids(before), []);
});

test('--share: a host-built program runs in the guest, and a file the guest writes is seen on the host', async () => {
  await getDebianKernel();
  const dir = scratchDir('kdive-share-');
  const token = randomBytes(8).toString('hex');
  writeFileSync(path.join(dir, 'from-host.txt'), `host-${token}\n`);
  // A program from the host's disk, run from the shared folder (statically linked, as guest programs are).
  copyFileSync(await findStaticBusybox(), path.join(dir, 'busybox'));
  const r = await runKdive(['run', '--share', `${dir}:/mnt/host`, '-g',
    `/mnt/host/busybox sha256sum /mnt/host/from-host.txt > /mnt/host/from-guest.txt && uname -r >> /mnt/host/from-guest.txt`], { timeoutMs: 400_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(path.join(dir, 'from-guest.txt'), 'utf8').trim().split('\n');
  const { createHash } = await import('node:crypto');
  const expected = createHash('sha256').update(`host-${token}\n`).digest('hex');
  assert.equal(lines[0]!.split(/\s+/)[0], expected);
  assert.equal(lines[1], (await getDebianKernel()).version);
});
