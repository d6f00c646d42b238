import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { allProperties } from '../fuzz/all-properties.js';
import { runProperty } from '../fuzz/fuzz-property.js';

/**
 * Every parser of untrusted bytes, 1,000 generated and mutated inputs each (KDIVE_FUZZ_RUNS to
 * change it): each input parses, or is rejected with kdive's own error in one line saying where.
 * `npm run fuzz` runs the same properties 100,000 times each, from a new seed each time.
 */
const RUNS = Number(process.env.KDIVE_FUZZ_RUNS ?? 1000);
// A fixed seed, so a run of the fast tier is the same run on every machine (a failure shows its
// seed and shrunk input); KDIVE_FUZZ_SEED picks another. `npm run fuzz` draws a new seed each time.
const SEED = Number(process.env.KDIVE_FUZZ_SEED ?? 23);

const properties = allProperties();
after(() => Promise.all(properties.map((p) => p.dispose?.())));

for (const p of properties) {
  test(`fuzz: ${p.parser}: ${p.name}`, async () => {
    const run = await runProperty(p, RUNS, SEED);
    assert.equal(run.failure, undefined, run.failure);
    assert.equal(run.cases, RUNS);
  });
}
