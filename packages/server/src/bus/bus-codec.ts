import type { BusMessage } from './bus.js';

/** Bus messages on the wire (JSON, bytes as base64), tagged with the publishing instance. */
export function encodeBusMessage(origin: string, message: BusMessage): string {
  if (message.kind !== 'update' && message.kind !== 'awareness') return JSON.stringify({ origin, ...message });
  return JSON.stringify({ origin, ...message, update: Buffer.from(message.update).toString('base64') });
}

export function decodeBusMessage(text: string): { origin: string; message: BusMessage } | null {
  let raw: {
    origin?: unknown;
    kind?: unknown;
    room?: unknown;
    seq?: unknown;
    update?: unknown;
    event?: unknown;
    user?: unknown;
  };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch {
    return null;
  }
  if (typeof raw.origin !== 'string' || typeof raw.room !== 'string') return null;
  const { origin, room } = raw;
  if (raw.kind === 'event' && raw.event && typeof raw.event === 'object') {
    return { origin, message: { kind: 'event', room, event: raw.event as BusMessage & never } };
  }
  if (raw.kind === 'deleted') return { origin, message: { kind: 'deleted', room } };
  if (raw.kind === 'access' && typeof raw.user === 'string')
    return { origin, message: { kind: 'access', room, user: raw.user } };
  if (typeof raw.update !== 'string') return null;
  const update = new Uint8Array(Buffer.from(raw.update, 'base64'));
  if (raw.kind === 'update' && typeof raw.seq === 'number')
    return { origin, message: { kind: 'update', room, seq: raw.seq, update } };
  if (raw.kind === 'awareness') return { origin, message: { kind: 'awareness', room, update } };
  return null;
}
