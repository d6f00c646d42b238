import type { StopEvent } from '../target.js';
import { clipped } from '../../errors.js';
import { TargetError } from '../target-error.js';

/**
 * Parses `S05`, `T05thread:01;watch:ffff…;`, `W03`, `X09` (and `W00;process:1`) into a StopEvent.
 * Anything else, or a field that is not what its key says (a watch address that is not hex), is
 * a TargetError naming the reply: a stop built from garbage would send the session somewhere false.
 */
export function parseStopReply(payload: string): StopEvent {
  const kind = payload[0];
  if (!kind || !'STWX'.includes(kind) || !/^[0-9a-fA-F]{2}$/.test(payload.slice(1, 3))) {
    throw new TargetError(`bad stop reply from the stub (expected S, T, W or X and two hex digits): ${quoted(payload)}`);
  }
  const code = parseInt(payload.slice(1, 3), 16);
  if (kind === 'W') return { reason: 'exited', exitCode: code, raw: payload };
  if (kind === 'X') return { reason: 'terminated', signal: code, raw: payload };
  const event: StopEvent = { reason: code === 5 ? 'trap' : code === 2 ? 'interrupt' : 'signal', signal: code, raw: payload };
  if (kind === 'S') {
    if (payload.length > 3) throw new TargetError(`bad stop reply from the stub (S takes no fields): ${quoted(payload)}`);
    return event;
  }
  for (const pair of payload.slice(3).split(';')) {
    const i = pair.indexOf(':');
    if (i < 0) continue;
    const key = pair.slice(0, i);
    const value = pair.slice(i + 1);
    if (key === 'thread') {
      if (!/^(p-?[0-9a-fA-F]+\.)?-?[0-9a-fA-F]+$/.test(value)) throw new TargetError(`bad thread id ${quoted(value)} in the stop reply ${quoted(payload)}`);
      event.threadId = value;
    } else if (key === 'watch' || key === 'rwatch' || key === 'awatch') {
      if (!/^[0-9a-fA-F]{1,16}$/.test(value)) throw new TargetError(`bad ${key} address ${quoted(value)} in the stop reply ${quoted(payload)}`);
      event.reason = 'watchpoint';
      event.watch = { kind: key, address: BigInt(`0x${value}`) };
    }
  }
  return event;
}

const quoted = (text: string) => JSON.stringify(clipped(text, 60));
