/**
 * The real inputs the mutation properties start from (see README.md beside this file for where
 * each came from and how to make it again).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The seeds stay in the source tree whether the tests run from there or from dist/ (npm test).
const here = path.dirname(fileURLToPath(import.meta.url));
const SEEDS = import.meta.url.endsWith('.ts') ? here : path.resolve(here, '../../../../test/fuzz/seeds');

export function seed(name: string): Buffer {
  return readFileSync(path.join(SEEDS, name));
}

export function fixture(...parts: string[]): Buffer {
  return readFileSync(path.join(SEEDS, '..', '..', 'fixtures', ...parts));
}
