import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { lstat, readFile, readlink, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CpioNewcWriter } from '../../src/rootfs/cpio-newc-writer.js';
import { buildInitramfs } from '../../src/rootfs/initramfs-builder.js';
import { GUEST_EXIT_MARKER, parseGuestExit } from '../../src/rootfs/guest-init.js';
import { scratchDir } from '../support/own-resources.js';

async function tmp(): Promise<string> {
  return scratchDir('kdive-cpio-');
}

test('GNU cpio extracts what our newc writer wrote: contents, modes, symlinks, every padding case', async () => {
  const dir = await tmp();
  const archive = path.join(dir, 'a.cpio');
  const out = createWriteStream(archive);
  const w = new CpioNewcWriter(out);
  const files: Record<string, Buffer> = {};
  await w.addDirectory('d', 0o750);
  // Names and contents of every length mod 4 exercise both padding rules.
  for (let n = 0; n < 9; n++) {
    const name = `d/${'f'.repeat(n + 1)}`;
    files[name] = Buffer.from(Array.from({ length: n * 3 }, (_, i) => (i * 7 + n) & 0xff));
    await w.addFile(name, files[name]!, 0o600 + n);
  }
  await w.addSymlink('d/link', 'f');
  await w.addDevice('console', 'c', 5, 1, 0o600);
  await w.finish();
  await new Promise<void>((r) => out.end(r));

  const x = path.join(dir, 'x');
  await mkdir(x);
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', archive], { cwd: x });
  for (const [name, data] of Object.entries(files)) {
    assert.deepEqual(await readFile(path.join(x, name)), data, name);
  }
  assert.equal((await lstat(path.join(x, 'd/fff'))).mode & 0o777, 0o602);
  assert.equal((await lstat(path.join(x, 'd'))).mode & 0o777, 0o750);
  assert.equal(await readlink(path.join(x, 'd/link')), 'f');
  // cpio -tv shows the device node with its major and minor.
  const listing = execFileSync('cpio', ['-tv', '--quiet', '-F', archive], { encoding: 'utf8' });
  assert.match(listing, /^crw-------\s+\d+\s+\S+\s+\S+\s+5,\s+1 .* console$/m);
});

test('the initramfs gunzips to a cpio archive with busybox, its applets, device nodes and an executable /init', async () => {
  const dir = await tmp();
  const extra = path.join(dir, 'hello.txt');
  await writeFile(extra, 'from the host\n');
  const out = path.join(dir, 'initramfs.cpio.gz');
  await buildInitramfs({ guestCommand: "echo it's here", out, add: [{ host: extra, guest: '/opt/data/hello.txt' }] });
  const cpio = path.join(dir, 'i.cpio');
  await writeFile(cpio, gunzipSync(await readFile(out)));
  const x = path.join(dir, 'x');
  await mkdir(x);
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', cpio], { cwd: x });
  const init = await readFile(path.join(x, 'init'), 'utf8');
  assert.ok(((await lstat(path.join(x, 'init'))).mode & 0o111) !== 0, '/init is executable');
  // The command goes through two levels of quoting (/init hands the final-root script to sh -c):
  // the shell itself unquotes them, and must get the command back as written.
  const unquote = (line: string) => execFileSync('sh', ['-c', line.replace(/^(exec \/bin\/sh|sh) -c /, 'printf %s ')], { encoding: 'utf8' });
  const stage2 = unquote(init.slice(init.lastIndexOf('\nexec /bin/sh -c ') + 1).trimEnd());
  assert.match(stage2, new RegExp(`echo "${GUEST_EXIT_MARKER} \\$status"`));
  const commandLine = stage2.split('\n').find((l) => l.startsWith('sh -c '))!;
  assert.equal(unquote(commandLine), "echo it's here", 'the guest command is quoted for sh');
  assert.equal(await readlink(path.join(x, 'bin/sh')), 'busybox');
  assert.equal(await readFile(path.join(x, 'opt/data/hello.txt'), 'utf8'), 'from the host\n');
  const listing = execFileSync('cpio', ['-tv', '--quiet', '-F', cpio], { encoding: 'utf8' });
  assert.match(listing, /^crw-------.*\s5,\s+1 .* dev\/console$/m);
  assert.match(listing, /^crw-rw-rw-.*\s1,\s+3 .* dev\/null$/m);
  // The busybox in the archive is the host's, byte for byte.
  assert.deepEqual(await readFile(path.join(x, 'bin/busybox')), await readFile(execFileSync('sh', ['-c', 'readlink -f /bin/busybox'], { encoding: 'utf8' }).trim()));
});

test('the guest exit marker is read off console text', () => {
  assert.equal(parseGuestExit(`[    1.0] random\r\n${GUEST_EXIT_MARKER} 42\r\n[    1.1] reboot: Power down`), 42);
  assert.equal(parseGuestExit('Kernel panic - not syncing'), undefined);
});
