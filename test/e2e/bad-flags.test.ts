import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';

/** Each bad value: kdive's own one line naming the flag, exit 2, nothing fetched or booted. */
test('bad flag values are one line naming the flag, exit 2, before anything starts', async () => {
  const dir = scratchDir('kdive-flags-');
  const cases: [string[], string][] = [
    [['run', '-g', 'true', '--memory', 'abc'], 'kdive: --memory abc: expected MiB of guest memory, a whole number from 64 to 1048576'],
    [['debug', '--memory', '1e3'], 'kdive: --memory 1e3: expected MiB of guest memory, a whole number from 64 to 1048576'],
    [['run', '-g', 'true', '--cpus', '0'], 'kdive: --cpus 0: expected a number of virtual CPUs, a whole number from 1 to 255'],
    [['boot', '--cpus', '1.5'], 'kdive: --cpus 1.5: expected a number of virtual CPUs, a whole number from 1 to 255'],
    [['demo', '--timeout', 'x'], 'kdive: --timeout x: expected a number of seconds greater than 0'],
    [['run', '-g', 'true', '--timeout', '0'], 'kdive: --timeout 0: expected a number of seconds greater than 0'],
    [['dap', '--port', 'abc'], 'kdive: --port abc: expected a TCP port (0: a free one), a whole number from 0 to 65535'],
    [['libvirt', 'enable-gdb', '/dev/null', '--port', '70000'], 'kdive: --port 70000: expected a TCP port, a whole number from 1 to 65535'],
    [['debug', '--attach', '127.0.0.1:99999'], 'kdive: --attach 127.0.0.1:99999: expected a TCP port, a whole number from 1 to 65535'],
    [['boot', '--gdb', '127.0.0.1:x'], 'kdive: --gdb 127.0.0.1:x: expected 127.0.0.1:PORT (kdive listens on loopback only)'],
    [['proxy', '--kdp', '10.0.0.1:abc'], 'kdive: --kdp 10.0.0.1:abc: expected a TCP port, a whole number from 1 to 65535'],
    [['proxy', '--to', '127.0.0.1:99999'], 'kdive: --to 127.0.0.1:99999: expected a TCP port, a whole number from 1 to 65535'],
    [['image', 'create', path.join(dir, 'a.qcow2'), 'abc'], 'kdive: size abc: expected a size such as 256M or 2G'],
    [['image', 'rootfs', path.join(dir, 'b.qcow2'), '--size', '12Q'], 'kdive: --size 12Q: expected a size such as 256M or 2G'],
    [['run', '-g', 'true', '--kernel', dir], `kdive: kernel image ${dir}: a directory, not a file`],
    [['sym', dir, 'lookup', 'x'], `kdive: ${dir}: a directory, not a kernel image (give the vmlinux or bzImage in it)`],
    [['symbolize', dir], `kdive: ${dir}: a directory, not a kernel image (give the vmlinux or bzImage in it)`],
  ];
  const before = qemuPids();
  for (const [args, line] of cases) {
    const r = await runKdive(args, { timeoutMs: 60_000 });
    assert.equal(r.stderr, `${line}\n`, args.join(' '));
    assert.equal(r.code, 2, args.join(' '));
  }
  const initrd = await runKdive(['initramfs', '--out', path.join(dir, 'no/such/dir/x.cpio.gz'), '--guest', 'true']);
  assert.equal(initrd.code, 1);
  assert.match(initrd.stderr, /^kdive: cannot build the initramfs .*x\.cpio\.gz: ENOENT: no such file or directory, open '.*'\n$/);
  assert.deepEqual(newQemuPids(before), []);
});
