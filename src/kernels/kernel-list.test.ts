import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cachedKernels } from './kernel-list.js';

test('kernel list: complete cache entries with and without their debug vmlinux; half-unpacked ones left out', () => {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kdive-kernel-list-'));
  try {
    const entry = (name: string, files: Record<string, string | Buffer>) => {
      const dir = path.join(cache, 'kernels', name);
      mkdirSync(dir, { recursive: true });
      for (const [f, content] of Object.entries(files)) writeFileSync(path.join(dir, f), content);
    };
    entry('linux-image-6.12.95+deb12-cloud-amd64_6.12.95-1~bpo12+1', { vmlinuz: 'x', config: 'x', 'complete.json': JSON.stringify({ package: 'linux-image-6.12.95+deb12-cloud-amd64', version: '6.12.95-1~bpo12+1' }) });
    entry('linux-image-6.1.0-57-cloud-amd64_6.1.192-3', { vmlinuz: 'x' }); // no config, no manifest: not complete
    assert.deepEqual(cachedKernels(cache).map((k) => [k.package, k.version, k.debug]), [['linux-image-6.12.95+deb12-cloud-amd64', '6.12.95-1~bpo12+1', false]]);
    assert.deepEqual(cachedKernels(path.join(cache, 'nothing-here')), []);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
