import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * The servers under test, by how clients address a room. `baseline` is Tandem from another checkout
 * (`--baseline <dir>`), for before/after comparisons of a change in one interleaved run.
 */
export type Target =
  | 'tandem'
  | 'baseline'
  | 'ywebsocket'
  | 'hocuspocus'
  | 'wsrelay'
  /** y-websocket with its y-leveldb persistence (`--durable`). */
  | 'ywebsocket-leveldb'
  /** Hocuspocus with its SQLite persistence (extension-sqlite's queries on `node:sqlite`; `--durable`). */
  | 'hocuspocus-sqlite'
  /** Two Tandem instances on PostgreSQL + Redis (`--cluster`). */
  | 'tandem-cluster'
  /** Two Hocuspocus instances with @hocuspocus/extension-redis (`--cluster`). */
  | 'hocuspocus-redis';

/** Hocuspocus names the document inside every message, on one socket for all of them. */
export const speaksHocuspocus = (target: Target): boolean =>
  target === 'hocuspocus' || target === 'hocuspocus-redis' || target === 'hocuspocus-sqlite';

export function roomUrl(target: Target, base: string, room: string): string {
  if (target === 'tandem' || target === 'baseline' || target === 'tandem-cluster') return `${base}/v1/sync/${room}`;
  if (target === 'ywebsocket' || target === 'ywebsocket-leveldb' || target === 'wsrelay') return `${base}/${room}`;
  return base;
}

/**
 * Frames one y-websocket message. Hocuspocus uses the same messages prefixed with the document name,
 * so one load generator drives all three servers.
 */
export function frame(target: Target, room: string, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  if (speaksHocuspocus(target)) encoding.writeVarString(e, room);
  write(e);
  return encoding.toUint8Array(e);
}

export const syncStep1 = (t: Target, room: string, sv: Uint8Array) =>
  frame(t, room, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint8Array(e, sv);
  });
export const syncStep2 = (t: Target, room: string, update: Uint8Array) =>
  frame(t, room, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, update);
  });
export const syncUpdate = (t: Target, room: string, update: Uint8Array) =>
  frame(t, room, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 2);
    encoding.writeVarUint8Array(e, update);
  });
export const awarenessFrame = (t: Target, room: string, update: Uint8Array) =>
  frame(t, room, (e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, update);
  });
/** Hocuspocus waits for an auth message (empty token without auth hooks) before anything else. */
export const hocuspocusAuth = (room: string) =>
  frame('hocuspocus', room, (e) => {
    encoding.writeVarUint(e, 2);
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, '');
  });

export type Incoming =
  | { kind: 'step1'; payload: Uint8Array }
  | { kind: 'step2' | 'update' | 'awareness'; payload: Uint8Array }
  | { kind: 'other' };

export function parse(target: Target, data: Uint8Array): Incoming {
  const d = decoding.createDecoder(data);
  if (speaksHocuspocus(target)) decoding.readVarString(d);
  const type = decoding.readVarUint(d);
  if (type === 0 || type === 4) {
    const sub = decoding.readVarUint(d);
    const payload = decoding.readVarUint8Array(d);
    return { kind: sub === 0 ? 'step1' : sub === 1 ? 'step2' : 'update', payload };
  }
  if (type === 1) return { kind: 'awareness', payload: decoding.readVarUint8Array(d) };
  return { kind: 'other' };
}
