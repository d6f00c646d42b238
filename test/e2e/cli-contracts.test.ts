import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freeLoopbackPort } from '../../src/vm/free-port.js';
import { newQemuPids, qemuPids, runKdive, startKdive, until } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

test('kdive sym VMLINUX QUERY ... (the README order) answers as kdive sym QUERY VMLINUX ...', async () => {
  const { vmlinux } = await getDebianKernel();
  const queries = [['addr2line', '0xffffffff81000000', '0xffffffff813632a5'], ['lookup', 'do_mkdirat'], ['lookup', 'jiffies'], ['info-line', 'do_mkdirat'], ['ptype', 'struct list_head']];
  for (const [query, ...args] of queries) {
    for (const json of [[], ['--json']]) {
      const readme = await runKdive(['sym', vmlinux!, query!, ...args, ...json]);
      const commander = await runKdive(['sym', query!, vmlinux!, ...args, ...json]);
      assert.equal(readme.code, 0, `${query}: ${readme.stderr}`);
      assert.ok(readme.stdout.length > 10, readme.stdout);
      assert.equal(readme.stdout, commander.stdout, `${query} ${json.join('')}`);
    }
  }
  const dir = await runKdive(['sym', '/tmp', 'lookup', 'do_mkdirat']);
  assert.equal(dir.code, 2);
  assert.equal(dir.stderr, 'kdive: /tmp: a directory, not a kernel image (give the vmlinux or bzImage in it)\n');
});

test('kdive symbolize: a CRLF log gives the same lines as the LF one, without a \\r kept', async () => {
  const { vmlinux } = await getDebianKernel();
  const lines = ['[   1.000000] Call Trace:', '[   1.000000]  <TASK>', '[   1.000000]  do_mkdirat+0x5/0x150', '[   1.000000]  __x64_sys_mkdir+0x45/0x70', '[   1.000000]  </TASK>'];
  const lf = await runKdive(['symbolize', vmlinux!], { input: `${lines.join('\n')}\n` });
  const crlf = await runKdive(['symbolize', vmlinux!], { input: `${lines.join('\r\n')}\r\n` });
  assert.equal(lf.code, 0, lf.stderr);
  assert.match(lf.stdout, /^\[ +1\.000000\] +do_mkdirat\+0x5\/0x150 \S+namei\.c:\d+$/m);
  assert.equal(crlf.stdout, lf.stdout);
  assert.doesNotMatch(crlf.stdout, /\r/);
  const json = await runKdive(['symbolize', '--json', vmlinux!], { input: `${lines.join('\r\n')}\r\n` });
  for (const l of json.stdout.trim().split('\n')) assert.doesNotMatch(JSON.parse(l).line, /\r/);
});

test('kdive boot --gdb 127.0.0.1:PORT puts QEMU\'s gdbstub on PORT; a --gdb not on loopback is one line before anything boots', async () => {
  await getDebianKernel();
  const bad = await runKdive(['boot', '--gdb', '0.0.0.0:1234']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^kdive: --gdb 0\.0\.0\.0:1234: expected 127\.0\.0\.1:PORT/);
  assert.equal(bad.stderr.split('\n').filter(Boolean).length, 1, bad.stderr);

  const before = qemuPids();
  const port = await freeLoopbackPort();
  const boot = startKdive(['boot', '--gdb', `127.0.0.1:${port}`]);
  try {
    await until('kdive boot to print its endpoint', () => /gdbstub on /.test(boot.stdout()) || boot.child.exitCode !== null);
    assert.match(boot.stdout(), new RegExp(`gdbstub on 127\\.0\\.0\\.1:${port}\\n`), boot.stdout() + boot.stderr());
    // A stub answers there: `?` gets a stop reply.
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('$?#3f'));
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (/\$[ST][0-9a-f]{2}.*#/.test(got)) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    assert.match(reply, /\$[ST]05/);
  } finally {
    boot.child.kill('SIGINT');
    await boot.exited;
  }
  assert.deepEqual(newQemuPids(before), []);
});

test('kdive sym prints files as gdb and the REPL do, relative to the build directory (gdb info line on the same vmlinux)', async () => {
  const { vmlinux } = await getDebianKernel();
  const { execFileSync } = await import('node:child_process');
  const gdb = execFileSync('gdb', ['-nx', '-batch', '-ex', 'info line do_mkdirat', vmlinux!], { encoding: 'utf8' });
  const gdbFile = /^Line \d+ of "([^"]+)"/m.exec(gdb)?.[1];
  assert.equal(gdbFile, 'fs/namei.c', gdb);
  const infoLine = await runKdive(['sym', vmlinux!, 'info-line', 'do_mkdirat']);
  assert.match(infoLine.stdout, new RegExp(`^Line 4169 of "${gdbFile}" starts at address 0xffffffff813632a0`, 'm'));
  const lookup = await runKdive(['sym', vmlinux!, 'lookup', 'do_mkdirat']);
  assert.match(lookup.stdout, new RegExp(`: ${gdbFile}:4169\\n$`));
  const addr2line = await runKdive(['sym', vmlinux!, 'addr2line', '0xffffffff813632a0']);
  assert.match(addr2line.stdout, new RegExp(`do_mkdirat at ${gdbFile}:4169`));
});
