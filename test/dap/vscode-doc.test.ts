import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, import.meta.url.endsWith('.ts') ? '../..' : '../../..');

test('docs/vscode.md: its launch.json uses only what the extension declares, names files that exist, and no kernel version', () => {
  const doc = readFileSync(path.join(repo, 'docs/vscode.md'), 'utf8');
  const extension = path.join(repo, 'editors/vscode');
  assert.match(doc, /ln -s "\$PWD\/editors\/vscode"/);
  const pkg = JSON.parse(readFileSync(path.join(extension, 'package.json'), 'utf8'));
  const debuggerEntry = pkg.contributes.debuggers.find((d: { type: string }) => d.type === 'kdive');
  assert.ok(debuggerEntry, 'the extension declares the kdive type');
  // The adapter the extension starts: dist/ once built, from this source file.
  const program = path.resolve(extension, debuggerEntry.program);
  assert.equal(path.relative(repo, program), 'dist/src/dap/dap-main.js');
  assert.ok(existsSync(path.join(repo, 'src/dap/dap-main.ts')));

  const block = /```json\n([\s\S]*?)\n```/.exec(doc);
  assert.ok(block, 'the launch.json example');
  const launch = JSON.parse(block[1]!) as { configurations: Record<string, unknown>[] };
  assert.ok(launch.configurations.length >= 2);
  for (const config of launch.configurations) {
    assert.equal(config.type, 'kdive');
    const declared = debuggerEntry.configurationAttributes[config.request as string];
    assert.ok(declared, `request ${config.request}`);
    for (const key of Object.keys(config)) {
      if (['name', 'type', 'request'].includes(key)) continue;
      assert.ok(key in declared.properties, `${config.request}.${key} is declared in the extension`);
    }
    for (const key of declared.required ?? []) assert.ok(key in config, `${config.request} needs ${key}`);
  }
  assert.doesNotMatch(block[1]!, /\d+\.\d+\.\d+-\d+|linux-image-|\.cache\/kdive\/kernels/, 'no kernel version or cache path written out');
  const attach = launch.configurations.find((c) => c.request === 'attach')!;
  assert.match(doc, new RegExp(`kdive boot --gdb 127\\.0\\.0\\.1:${attach.port}\\b`), 'the attach example says how to put the stub on its port');
});
