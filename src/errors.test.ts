import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from './errors.js';
import { TargetError } from './target/target-error.js';

test('errors that quote a file or a stub stay one line: control characters become \\xNN (found by npm run fuzz: a CIE augmentation string with a newline)', () => {
  assert.equal(new FormatError('vmlinux', 0x10, "CIE augmentation 'A\n\x1b[31m' is not supported").message, "vmlinux: at offset 0x10: CIE augmentation 'A\\x0a\\x1b[31m' is not supported");
  assert.equal(new TargetError('bad reply: O\r\nK').message, 'bad reply: O\\x0d\\x0aK');
});
