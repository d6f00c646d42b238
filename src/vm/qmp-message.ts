/**
 * One line of what QEMU's QMP sends, classified: the greeting, an event, a command's return or
 * error. QMP is JSON, but a line is only trusted as far as it has the shape its kind needs; any
 * other line (not JSON, not an object, an unknown shape) is `undefined` and the client skips it.
 */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export type QmpVersion = { major: number; minor: number; micro: number };

export type QmpMessage =
  | { kind: 'greeting'; version?: QmpVersion }
  | { kind: 'event'; event: QmpEvent }
  | { kind: 'return'; id: number; value: unknown }
  | { kind: 'error'; id: number; errorClass: string; desc: string };

export function parseQmpLine(line: string): QmpMessage | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return undefined; // not JSON (a partial line QEMU never finished): nothing to act on
  }
  if (!isObject(msg)) return undefined;
  if ('QMP' in msg) {
    const qemu = isObject(msg.QMP) && isObject(msg.QMP.version) ? msg.QMP.version.qemu : undefined;
    const version = isObject(qemu) && [qemu.major, qemu.minor, qemu.micro].every((n) => Number.isInteger(n)) ? (qemu as QmpVersion) : undefined;
    return { kind: 'greeting', version };
  }
  if (typeof msg.event === 'string') {
    return { kind: 'event', event: { event: msg.event, data: isObject(msg.data) ? msg.data : undefined, timestamp: msg.timestamp as QmpEvent['timestamp'] } };
  }
  if (typeof msg.id !== 'number') return undefined;
  if ('error' in msg) {
    const e = isObject(msg.error) ? msg.error : {};
    const errorClass = typeof e.class === 'string' ? e.class : 'GenericError';
    return { kind: 'error', id: msg.id, errorClass, desc: typeof e.desc === 'string' ? e.desc : errorClass };
  }
  return { kind: 'return', id: msg.id, value: msg.return };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
