import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CpioNewcWriter } from '../../src/rootfs/cpio-newc-writer.js';
import { findStaticBusybox, isStaticElf } from '../../src/rootfs/busybox.js';
import { MissingDependencyError } from '../../src/errors.js';
import { scratchDir } from '../support/own-resources.js';

interface Entry {
  offset: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
  data: Buffer;
}

/** An independent newc reader for the checks GNU cpio does not make (alignment, inodes, owners). */
function parseNewc(buf: Buffer): Entry[] {
  const entries: Entry[] = [];
  let off = 0;
  for (;;) {
    assert.equal(off % 4, 0, `header at ${off} is 4-byte aligned`);
    assert.equal(buf.toString('latin1', off, off + 6), '070701', `magic at ${off}`);
    const f = (i: number) => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const nameSize = f(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    assert.equal(buf[off + 110 + nameSize - 1], 0, `name of ${name} ends with NUL`);
    const dataStart = off + 110 + nameSize + ((4 - ((110 + nameSize) % 4)) % 4);
    assert.equal(dataStart % 4, 0);
    // Padding bytes are zeros.
    assert.ok(buf.subarray(off + 110 + nameSize, dataStart).every((b) => b === 0), `name padding of ${name}`);
    const size = f(6);
    const end = dataStart + size + ((4 - (size % 4)) % 4);
    assert.ok(buf.subarray(dataStart + size, end).every((b) => b === 0), `data padding of ${name}`);
    entries.push({ offset: off, ino: f(0), mode: f(1), uid: f(2), gid: f(3), nlink: f(4), size, rdevMajor: f(9), rdevMinor: f(10), name, data: buf.subarray(dataStart, dataStart + size) });
    off = end;
    if (name === 'TRAILER!!!') break;
  }
  assert.equal(off, buf.length, 'nothing after the trailer');
  return entries;
}

async function collect(build: (w: CpioNewcWriter) => Promise<void>): Promise<Buffer> {
  const { writer, stream } = CpioNewcWriter.toReadable(1_700_000_000);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => stream.on('end', r));
  await build(writer);
  await writer.finish();
  stream.end();
  await ended;
  return Buffer.concat(chunks);
}

test('newc structure: aligned headers, zero padding, unique inodes, owners 0, no leading slash, directory nlink 2', async () => {
  const dir = scratchDir('kdive-cpio-');
  const hostFile = path.join(dir, 'host.bin');
  const hostBytes = Buffer.from(Array.from({ length: 70_001 }, (_, i) => (i * 13) & 0xff));
  await writeFile(hostFile, hostBytes);
  const archive = await collect(async (w) => {
    await w.addDirectory('/etc', 0o755);
    for (let n = 0; n <= 8; n++) await w.addFile(`/etc/${'n'.repeat(n + 1)}`, Buffer.alloc(n, 0x41 + n));
    await w.addFile('etc/streamed', hostFile, 0o640);
    await w.addSymlink('/etc/ln', 'a/b/c');
    await w.addDevice('/dev-null', 'c', 1, 3, 0o666);
    await w.addDevice('sda', 'b', 8, 0, 0o660);
  });
  const entries = parseNewc(archive);
  const names = entries.map((e) => e.name);
  assert.ok(names.every((n) => !n.startsWith('/')), names.join(','));
  const real = entries.filter((e) => e.name !== 'TRAILER!!!');
  assert.equal(new Set(real.map((e) => e.ino)).size, real.length, 'inode numbers are unique');
  assert.ok(real.every((e) => e.uid === 0 && e.gid === 0));
  assert.equal(entries.find((e) => e.name === 'etc')!.nlink, 2);
  assert.deepEqual(entries.find((e) => e.name === 'etc/streamed')!.data, hostBytes);
  assert.equal(entries.find((e) => e.name === 'etc/streamed')!.mode, 0o100640);
  assert.equal(entries.find((e) => e.name === 'etc/ln')!.data.toString(), 'a/b/c');
  const sda = entries.find((e) => e.name === 'sda')!;
  assert.deepEqual([sda.mode, sda.rdevMajor, sda.rdevMinor, sda.size], [0o060660, 8, 0, 0]);
  for (let n = 0; n <= 8; n++) assert.deepEqual(entries.find((e) => e.name === `etc/${'n'.repeat(n + 1)}`)!.data, Buffer.alloc(n, 0x41 + n));

  // GNU cpio agrees; as root it even makes the device nodes.
  const x = path.join(dir, 'x');
  await mkdir(x);
  await writeFile(path.join(dir, 'a.cpio'), archive);
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', path.join(dir, 'a.cpio')], { cwd: x });
  assert.deepEqual(await readFile(path.join(x, 'etc/streamed')), hostBytes);
  const listing = execFileSync('cpio', ['-tv', '--quiet', '-F', path.join(dir, 'a.cpio')], { encoding: 'utf8' });
  assert.match(listing, /^brw-rw----.*\s8,\s+0 .* sda$/m);
  assert.match(listing, /^crw-rw-rw-.*\s1,\s+3 .* dev-null$/m);
  if (process.getuid?.() === 0) {
    const st = await lstat(path.join(x, 'sda'));
    assert.ok(st.isBlockDevice());
    assert.equal(st.rdev, 8 * 256 + 0);
    assert.ok((await lstat(path.join(x, 'dev-null'))).isCharacterDevice());
  }
});

test('the writer refuses an empty name and entries after the trailer', async () => {
  const { writer, stream } = CpioNewcWriter.toReadable();
  stream.resume();
  await assert.rejects(writer.addFile('/', Buffer.alloc(0)), /bad entry name/);
  await writer.finish();
  await assert.rejects(writer.addDirectory('late'), /already finished/);
});

test('busybox: a dynamic or missing binary is refused with the package to install', async () => {
  assert.equal(await isStaticElf('/bin/sh'), false, 'the host /bin/sh is dynamically linked');
  await assert.rejects(findStaticBusybox(['/nonexistent/busybox', '/bin/sh']), (err: unknown) => {
    assert.ok(err instanceof MissingDependencyError);
    assert.match(err.message, /busybox \(static\).*busybox-static/);
    return true;
  });
  assert.ok(await isStaticElf(await findStaticBusybox()));
});
