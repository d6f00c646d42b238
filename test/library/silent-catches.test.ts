import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KdiveError, NotFoundError, whenMissing, whenNotFound } from '../../src/errors.js';
import { formatSymbolizedTrace } from '../../src/crash/oops-symbolizer.js';
import { AptClient } from '../../src/kernels/apt.js';
import { checkKgdbConfig } from '../../src/session/kgdb-boot.js';
import type { KernelArtifacts } from '../../src/kernels/index.js';
import { scratchDir } from '../support/own-resources.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.ts') ? '../..' : '../../..');

/** Files whose silent catches are the Session restructuring's to settle (listed in issue 15's hand-over). */
const HANDED_OVER = new Set(['src/session/session.ts', 'src/session/run-control.ts', 'src/symbols/dwarf/dwarf-info.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

test('every catch(() => ...) that drops an error says, in a comment on it or just above, which expected case it is', () => {
  const unexplained: string[] = [];
  for (const file of sources(path.join(repo, 'src'))) {
    const rel = path.relative(repo, file);
    if (HANDED_OVER.has(rel)) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.includes('catch(() =>')) return;
      if (/setBreakpoints|sourceBreakpoints/.test(line)) return; // DAP setBreakpoints handler: handed over too
      if (line.includes('//') || /^\s*(\/\/|\*)/.test(lines[i - 1] ?? '')) return;
      unexplained.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(unexplained, []);
});

test('whenMissing and whenNotFound let only their one case through', async () => {
  const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
  const eacces = Object.assign(new Error('permission denied'), { code: 'EACCES' });
  assert.equal(await Promise.reject(enoent).catch(whenMissing('fallback')), 'fallback');
  await assert.rejects(Promise.reject(eacces).catch(whenMissing('fallback')), /permission denied/);
  assert.equal(await Promise.reject(new NotFoundError('no symbol')).catch(whenNotFound(undefined)), undefined);
  await assert.rejects(Promise.reject(new KdiveError('bad DWARF')).catch(whenNotFound(undefined)), /bad DWARF/);
});

test('failures that used to be dropped are said: a DWARF lookup in symbolize, an unreadable .config, apt-cache missing', async () => {
  const line = '[  1.0]  do_thing+0x5/0x10';
  assert.equal(formatSymbolizedTrace([{ line, symbolized: { line, function: 'do_thing', offset: 5n, address: 0n, frames: [], problem: 'bad DW_FORM 0x99' } }]), `${line} (no file:line: bad DW_FORM 0x99)`);
  const dir = scratchDir('kdive-config-');
  await assert.rejects(checkKgdbConfig({ config: dir, version: 'x' } as KernelArtifacts), /cannot read .* to check it has kgdb: EISDIR/);
  const noApt = new AptClient({ isRoot: false, runner: async () => { throw new KdiveError('apt-cache not found: kdive needs it (a Debian system with apt)'); } });
  await assert.rejects(noApt.packageInfo('linux-image-cloud-amd64'), /apt-cache not found/);
});
