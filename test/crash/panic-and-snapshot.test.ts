import { test } from 'node:test';
import { crashAndRestore } from '../support/crash-and-restore.js';

test('a panic is caught with its backtrace; a snapshot from before the crash is loaded and the guest goes on to power off normally', async () => {
  await crashAndRestore();
});
