import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../support/own-resources.js';
import { DEBIAN_KERNELS, getDebianKernel } from '../support/kernel-fixture.js';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';

/**
 * The issue's command lines with --no-debuginfo: the kernel package only, the session working from
 * the bzImage's BTF, kallsyms and ORC. The classic scenario, then the REPL commands BTF can answer.
 */
for (const { name: version, spec, get, qemuFlags } of DEBIAN_KERNELS) {
  test(`kdive run --no-debuginfo, ${version}: the mkdir scenario from the kernel package alone, arguments typed by BTF`, async () => {
    await get();
    const before = qemuPids();
    const r = await runKdive(['run', '--kernel', spec, ...qemuFlags, '--no-debuginfo', '--kaslr', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /has no DWARF: debugging from BTF and kallsyms \(no line numbers, no locals, arguments only at a function's entry\)/);
    assert.equal(r.stderr.match(/has no DWARF/g)?.length, 1, 'said once');
    assert.match(r.stdout, /^#0 {2}0x[0-9a-f]+ in do_mkdirat\+0x0 \(dfd=-100, name=0x[0-9a-f]+, mode=511\)$/m);
    assert.match(r.stdout, /^#1 {2}0x[0-9a-f]+ in __x64_sys_mkdir\+0x[0-9a-f]+$/m);
    assert.match(r.stdout, /^#3 {2}0x[0-9a-f]+ in entry_SYSCALL_64\+0x[0-9a-f]+$/m);
    assert.match(r.stdout, /Guest command exited with status 0/);
    assert.deepEqual(newQemuPids(before), []);
  });
}

test('kdive debug --no-debuginfo: finish gives the typed return value; p, ptype, ps and dmesg from BTF', async () => {
  await getDebianKernel();
  const commands = ['break do_mkdirat', 'continue', 'p current->comm', 'whatis do_mkdirat', 'p *(struct filename *)$rsi', 'ptype struct filename', 'ps', 'dmesg', 'finish', 'p $', 'list', 'info locals', 'kill'].join('\n');
  const r = await runKdive(['debug', '--kernel', 'debian:cloud-amd64', '--no-debuginfo', '--guest', 'mkdir /tmp/test; sleep 100'], { input: `${commands}\n` });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^Breakpoint 1, do_mkdirat \(dfd=-100, name=0x[0-9a-f]+, mode=511\)$/m);
  assert.match(out, /^\$1 = "mkdir\\000/m);
  assert.match(out, /^type = int \(int, struct filename \*, umode_t\)$/m);
  assert.match(out, /^\$2 = \{name = 0x[0-9a-f]+ "\/tmp\/test", uptr = 0x[0-9a-f]+ "\/tmp\/test", refcnt = \{counter = 1\}/m);
  assert.match(out, /^type = struct filename \{\n {4}const char \*name;\n {4}const char \*uptr;\n {4}atomic_t refcnt;\n {4}struct audit_names \*aname;\n {4}const char iname\[\];\n\}$/m);
  assert.match(out, /^>\s+\d+\s+\d+ R\s+0 0x[0-9a-f]+ mkdir$/m);
  assert.match(out, /Run \/init as init process/);
  // mkdir succeeded: do_mkdirat returned 0, typed int by its BTF prototype.
  assert.match(out, /^Run till exit from #0 {2}0x[0-9a-f]+ in do_mkdirat \(dfd=-100/m);
  assert.match(out, /^Value returned is \$\d+ = 0$/m);
  // What BTF cannot give is said, not guessed.
  assert.match(out + r.stderr, /no (line|source)/i);
});

test('kdive sym on the bzImage: lookup and addr2line agree with nm on the debug vmlinux, ptype with the DWARF layout', async () => {
  const kernel = await getDebianKernel();
  const nm = execFileSync('nm', [kernel.vmlinux!], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const address = (name: string) => BigInt(`0x${new RegExp(`^([0-9a-f]+) [Tt] ${name}$`, 'm').exec(nm)![1]}`);
  const lookup = await runKdive(['sym', kernel.bzImage, 'lookup', 'do_mkdirat', '--json']);
  assert.equal(lookup.code, 0, lookup.stderr);
  const j = JSON.parse(lookup.stdout) as { address: string; type: string; line: null };
  assert.equal(BigInt(j.address), address('do_mkdirat'));
  assert.equal(j.type, 'int (int, struct filename *, umode_t)');
  assert.equal(j.line, null);
  const inside = address('do_mkdirat') + 0x10n;
  const a2l = await runKdive(['sym', kernel.bzImage, 'addr2line', `0x${inside.toString(16)}`]);
  assert.equal(a2l.stdout, `0x${inside.toString(16)}\n  do_mkdirat+0x10\n`);
  for (const t of ['struct task_struct', 'struct file', 'struct filename']) {
    const [fromImage, fromDwarf] = await Promise.all([runKdive(['sym', kernel.bzImage, 'ptype', t, '--json']), runKdive(['sym', kernel.vmlinux!, 'ptype', t, '--json'])]);
    assert.deepEqual(JSON.parse(fromImage.stdout), JSON.parse(fromDwarf.stdout), t);
  }
  const bad = await runKdive(['sym', kernel.bzImage, 'lookup', 'do_mkdirr']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `kdive: no function or variable named 'do_mkdirr' in ${kernel.bzImage} (did you mean: do_mkdirat, do_rmdir, io_mkdirat?)\n`);
});

test('kdive kernel fetch --no-debuginfo into an empty cache: the kernel package only, then a run from it', async () => {
  const cache = scratchDir('kdive-nodebug-cache-');
  const fetched = await runKdive(['kernel', 'fetch', 'debian:cloud-amd64', '--no-debuginfo', '--json'], { env: { KDIVE_CACHE: cache } });
  assert.equal(fetched.code, 0, fetched.stderr);
  const k = JSON.parse(fetched.stdout) as { bzImage: string; vmlinux?: string };
  assert.equal(k.vmlinux, undefined);
  assert.ok(k.bzImage.startsWith(cache));
  assert.deepEqual(readdirSync(path.join(cache, 'debs')).filter((f) => f.includes('-dbg')), [], 'no -dbg package downloaded');
  const r = await runKdive(['run', '--kernel', 'debian:cloud-amd64', '--no-debuginfo', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test'], { env: { KDIVE_CACHE: cache } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /in do_mkdirat\+0x0 \(dfd=-100, name=0x[0-9a-f]+, mode=511\)/);
});
