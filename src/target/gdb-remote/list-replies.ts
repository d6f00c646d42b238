import { clipped } from '../../errors.js';
import { TargetError } from '../target-error.js';

/**
 * The two list-shaped replies a client reads in a loop, parsed apart from the loop so they can be
 * fuzzed: `qfThreadInfo`/`qsThreadInfo` (`m1,2,3` ... `l`) and `qXfer:…:read` (`m DATA` ... `l DATA`).
 */

/** One thread-list reply: the ids in it, and whether the list ended (`l`, or kgdb's empty reply). */
export function parseThreadListReply(reply: string): { ids: string[]; done: boolean } {
  if (reply === '' || reply === 'l') return { ids: [], done: true };
  if (reply[0] !== 'm') throw new TargetError(`bad thread list reply (neither m… nor l): ${quoted(reply)}`);
  const ids = reply.slice(1).split(',').filter(Boolean);
  const bad = ids.find((id) => !/^(p-?[0-9a-fA-F]+\.)?-?[0-9a-fA-F]+$/.test(id));
  if (bad !== undefined) throw new TargetError(`bad thread id in thread list reply: ${quoted(bad)}`);
  return { ids, done: false };
}

/** One `qXfer:OBJECT:read` reply for `annex`: its data, and whether it was the last chunk. */
export function parseQxferReply(reply: string, annex: string): { data: string; last: boolean } {
  if (reply === '' || /^E[0-9a-fA-F]{2}$/.test(reply)) throw new TargetError(`cannot read ${annex}: ${reply || 'the stub does not support qXfer'}`);
  const data = reply.slice(1);
  if (reply[0] === 'l') return { data, last: true };
  if (reply[0] !== 'm') throw new TargetError(`bad qXfer reply for ${annex} (neither m… nor l…): ${quoted(reply)}`);
  // `m` with no data would loop for ever at the same offset.
  if (data.length === 0) throw new TargetError(`bad qXfer reply for ${annex}: an empty m chunk`);
  return { data, last: false };
}

const quoted = (text: string) => JSON.stringify(clipped(text, 40));
