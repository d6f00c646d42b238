import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { kernelModuleTree } from '../../src/kernels/kernel-modules.js';
import { readModuleInfo } from '../../src/kernels/module-info.js';
import { KernelConfig } from '../../src/kernels/kernel-config.js';
import { silentProgress } from '../../src/progress/progress.js';

/** readelf's dump of a module's .modinfo strings: the oracle for `depends=` and `name=`. */
function readelfModinfo(ko: string): Map<string, string> {
  const out = execFileSync('readelf', ['-p', '.modinfo', ko], { encoding: 'utf8' });
  const fields = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\s*\[\s*[0-9a-f]+\]\s+(\w+)=(.*)$/.exec(line);
    if (m && !fields.has(m[1]!)) fields.set(m[1]!, m[2]!);
  }
  return fields;
}

test('the Debian kernel\'s modules: .modinfo as readelf reads it, and a load order with every dependency first', async () => {
  const kernel = await getDebianKernel();
  const tree = await kernelModuleTree(kernel, silentProgress);
  assert.ok(tree);
  const wanted = ['virtio_net', 'virtio_blk', 'virtiofs', 'virtio_pci'];
  const order = await tree.loadOrder(wanted);
  const names = order.map((f) => path.basename(f, '.ko').replace(/-/g, '_'));
  // The closure computed from readelf alone.
  const closure = new Set<string>();
  const visit = (name: string) => {
    if (closure.has(name)) return;
    closure.add(name);
    const oracle = readelfModinfo(tree.file(name)!);
    for (const dep of (oracle.get('depends') ?? '').split(',').filter(Boolean)) visit(dep.replace(/-/g, '_'));
  };
  wanted.forEach(visit);
  assert.deepEqual(new Set(names), closure);
  assert.equal(names.length, closure.size, 'each module once');
  for (const [i, file] of order.entries()) {
    const ours = await readModuleInfo(file);
    const oracle = readelfModinfo(file);
    assert.equal(ours.name, oracle.get('name'));
    assert.deepEqual(ours.depends, (oracle.get('depends') ?? '').split(',').filter(Boolean).map((d) => d.replace(/-/g, '_')));
    assert.equal(ours.vermagic?.split(' ')[0], kernel.version, 'built for this kernel');
    for (const dep of ours.depends) assert.ok(names.indexOf(dep) < i, `${dep} before ${ours.name}`);
  }
  // virtio_pci needs virtio and virtio_ring: a wrong order would fail insmod in the guest.
  assert.ok(names.indexOf('virtio_ring') < names.indexOf('virtio'));
  assert.ok(names.indexOf('virtio') < names.indexOf('virtio_pci'));
  // The config agrees: these are modules (=m), ext4 is built in.
  const config = await KernelConfig.read(kernel.config!);
  assert.equal(config.tristate('CONFIG_VIRTIO_NET'), 'm');
  assert.equal(config.tristate('CONFIG_EXT4_FS'), 'y');
  assert.equal(config.tristate('CONFIG_NET_9P'), undefined);
  await assert.rejects(tree.loadOrder(['no_such_module']), /module no_such_module is not in /);
});
