import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { allProperties } from '../fuzz/all-properties.js';
import { runProperty } from '../fuzz/fuzz-property.js';

/**
 * Every parser of untrusted bytes, 1,000 generated and mutated inputs each (KDIVE_FUZZ_RUNS to
 * change it): each input parses, or is rejected with kdive's own error in one line saying where.
 * `npm run fuzz` runs the same properties 100,000 times each.
 */
const RUNS = Number(process.env.KDIVE_FUZZ_RUNS ?? 1000);

const properties = allProperties();
after(() => Promise.all(properties.map((p) => p.dispose?.())));

for (const p of properties) {
  test(`fuzz: ${p.parser}: ${p.name}`, async () => {
    const run = await runProperty(p, RUNS);
    assert.equal(run.failure, undefined, run.failure);
    assert.equal(run.cases, RUNS);
  });
}
