import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { qemuAtPath, qemuCommand, SYSTEM_QEMU } from './qemu-binary.js';

const ROOT = '/home/u/.cache/kdive/qemu/10.0.2+ds-2+deb13u1~bpo12+1';
const UNPACKED = { path: `${ROOT}/usr/bin/qemu-system-x86_64`, root: ROOT };

test('the system QEMU: the command line and environment as they always were', () => {
  const cmd = qemuCommand(SYSTEM_QEMU, ['-accel', 'tcg', '-S']);
  assert.equal(cmd.file, 'qemu-system-x86_64');
  assert.deepEqual(cmd.args, ['-accel', 'tcg', '-S']);
  assert.equal(cmd.env, process.env, "kdive's own environment, untouched");
  assert.equal(qemuCommand({ path: '/opt/qemu/bin/qemu-system-x86_64' }, []).env, process.env);
});

test('an unpacked QEMU: its own firmware (-L), no audio, its own modules (QEMU_MODULE_DIR)', () => {
  const cmd = qemuCommand(UNPACKED, ['-accel', 'tcg', '-S']);
  assert.equal(cmd.file, `${ROOT}/usr/bin/qemu-system-x86_64`);
  assert.deepEqual(cmd.args, [
    '-L', `${ROOT}/usr/share/qemu`,
    '-L', `${ROOT}/usr/share/seabios`,
    '-L', `${ROOT}/usr/lib/ipxe/qemu`,
    '-audio', 'none',
    '-accel', 'tcg', '-S',
  ]);
  assert.equal(cmd.env.QEMU_MODULE_DIR, `${ROOT}/usr/lib/x86_64-linux-gnu/qemu`);
  assert.equal(cmd.env.PATH, process.env.PATH);
});

test('--qemu PATH: a binary inside an unpacked Debian tree gets its root; any other runs as it is', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdive-qemu-path-'));
  try {
    mkdirSync(path.join(dir, 'tree/usr/bin'), { recursive: true });
    mkdirSync(path.join(dir, 'tree/usr/share/qemu'), { recursive: true });
    writeFileSync(path.join(dir, 'tree/usr/bin/qemu-system-x86_64'), '');
    mkdirSync(path.join(dir, 'opt/bin'), { recursive: true });
    writeFileSync(path.join(dir, 'opt/bin/qemu-system-x86_64'), '');
    assert.deepEqual(qemuAtPath(path.join(dir, 'tree/usr/bin/qemu-system-x86_64')), { path: path.join(dir, 'tree/usr/bin/qemu-system-x86_64'), root: path.join(dir, 'tree') });
    assert.deepEqual(qemuAtPath(path.join(dir, 'opt/bin/qemu-system-x86_64')), { path: path.join(dir, 'opt/bin/qemu-system-x86_64') });
    assert.throws(() => qemuAtPath(path.join(dir, 'none')), /--qemu .*none: no such file \(expected system, 10, or the path of a qemu-system-x86_64\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
