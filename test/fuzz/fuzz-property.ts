/**
 * The contract every parser of untrusted bytes keeps, as a fast-check property:
 * any input either parses, or is rejected with kdive's own error type (KdiveError) in one line
 * that says where (an offset, a column, a field), within a bounded time.
 *
 * The fast tier runs each property 1,000 times (test/unit/fuzz-properties.test.ts); `npm run fuzz`
 * (test/fuzz/run-fuzz.ts) runs each 100,000 times and prints the cases and time per parser.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KdiveError } from '../../src/errors.js';

export interface FuzzProperty<T = unknown> {
  /** The parser under test, as the report names it (`RSP packet decoder`). */
  parser: string;
  /** What the property checks (`split anywhere, the same events`). */
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** Throws (an assertion) when the contract is broken. */
  check(input: T): void | Promise<void>;
  /** Inputs that once broke the contract (found by `npm run fuzz`): run first, every time. */
  examples?: T[];
  /** Ends what the property started for its cases (a session, a server), once after the runs. */
  dispose?(): Promise<void>;
}

export function property<T>(parser: string, name: string, arbitrary: fc.Arbitrary<T>, check: (input: T) => void | Promise<void>): FuzzProperty {
  return { parser, name, arbitrary, check } as FuzzProperty;
}

/** Records inputs that once broke the property named `parser: name…` (a prefix), to run first every time. */
export function regressions(properties: FuzzProperty[], nameStart: string, examples: unknown[]): void {
  const p = properties.find((x) => `${x.parser}: ${x.name}`.startsWith(nameStart));
  if (!p) throw new Error(`no fuzz property named ${nameStart}`);
  p.examples = [...(p.examples ?? []), ...examples];
}

/**
 * A hang bound, not a speed figure: a single input that takes longer than this is a parser
 * stuck in a loop (every parser here answers a valid input in well under a millisecond).
 */
export const HANG_BOUND_MS = 5_000;

/** Where a rejection says the problem is: an offset, a column, a line, a byte, a field. */
export const SAYS_WHERE = /offset|column|at byte|line \d|field|entry \d|section|packet|reply|header|index/i;

/** The rejection half of the contract: a KdiveError, one line, naming where (`where`). */
export function assertWellRejected(err: unknown, where: RegExp = SAYS_WHERE): void {
  if (!(err instanceof KdiveError)) {
    throw new assert.AssertionError({ message: `not kdive's own error: ${err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)}` });
  }
  assert.ok(!err.message.includes('\n'), `more than one line: ${JSON.stringify(err.message)}`);
  assert.match(err.message, where, `does not say where: ${err.message}`);
}

/** Runs `parse`; its result, or undefined when it rejected the input as the contract allows. */
export function parsedOrRejected<R>(parse: () => R, where?: RegExp): R | undefined {
  try {
    return parse();
  } catch (err) {
    assertWellRejected(err, where);
    return undefined;
  }
}

export async function parsedOrRejectedAsync<R>(parse: () => Promise<R>, where?: RegExp): Promise<R | undefined> {
  try {
    return await parse();
  } catch (err) {
    assertWellRejected(err, where);
    return undefined;
  }
}

export interface FuzzRun {
  parser: string;
  name: string;
  cases: number;
  ms: number;
  /** The slowest single case, in ms (the hang bound applies to it). */
  slowestMs: number;
  failure?: string;
}

/** Runs one property `runs` times; a failure carries fast-check's shrunk counterexample and seed. */
export async function runProperty(p: FuzzProperty, runs: number, seed?: number): Promise<FuzzRun> {
  let cases = 0;
  let slowest = 0;
  // A promise the code under test left to reject on its own (a background read, a timer), or a
  // throw out of an event handler (a socket's data), is a crash in a real process: the case fails.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const timed = async (input: unknown): Promise<void> => {
    const t0 = performance.now();
    await p.check(input);
    await new Promise((resolve) => setImmediate(resolve));
    if (unhandled.length) {
      const reason = unhandled.splice(0)[0];
      throw new assert.AssertionError({ message: `an unhandled rejection or uncaught exception: ${reason instanceof Error ? reason.stack : String(reason)}` });
    }
    const ms = performance.now() - t0;
    cases++;
    slowest = Math.max(slowest, ms);
    assert.ok(ms < HANG_BOUND_MS, `one input took ${ms.toFixed(0)} ms (hang bound ${HANG_BOUND_MS} ms)`);
  };
  const t0 = performance.now();
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const details = await fc.check(fc.asyncProperty(p.arbitrary, timed), { numRuns: runs, seed, endOnFailure: false, examples: (p.examples ?? []).map((e) => [e] as [unknown]) }).finally(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });
  const run: FuzzRun = { parser: p.parser, name: p.name, cases, ms: performance.now() - t0, slowestMs: slowest };
  if (details.failed) {
    const counterexample = details.counterexample ? fc.stringify(details.counterexample[0]) : '?';
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    run.failure = `${p.parser}: ${p.name}: seed ${details.seed}, path ${details.counterexamplePath}\ninput: ${counterexample.slice(0, 2000)}\n${error}`;
  }
  return run;
}
