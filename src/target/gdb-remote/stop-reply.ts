import type { StopEvent } from '../target.js';

/** Parses `S05`, `T05thread:01;watch:ffff…;`, `W03`, `X09` into a StopEvent. */
export function parseStopReply(payload: string): StopEvent {
  const kind = payload[0];
  const code = parseInt(payload.slice(1, 3), 16);
  if (kind === 'W') return { reason: 'exited', exitCode: code, raw: payload };
  if (kind === 'X') return { reason: 'terminated', signal: code, raw: payload };
  const event: StopEvent = { reason: code === 5 ? 'trap' : code === 2 ? 'interrupt' : 'signal', signal: code, raw: payload };
  if (kind === 'T') {
    for (const pair of payload.slice(3).split(';')) {
      const i = pair.indexOf(':');
      if (i < 0) continue;
      const key = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (key === 'thread') event.threadId = value;
      else if (key === 'watch' || key === 'rwatch' || key === 'awatch') {
        event.reason = 'watchpoint';
        event.watch = { kind: key, address: BigInt(`0x${value}`) };
      }
    }
  }
  return event;
}
