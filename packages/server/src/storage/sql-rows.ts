import type { RevisionInfo, RoomInfo, StoredEvent } from './store.js';

/**
 * Integer columns as each SQL driver returns them: numbers from `node:sqlite`, strings from
 * PostgreSQL's bigint. Every value Tandem stores fits a double exactly, so both map with Number().
 */
type Integer = number | string;

export interface EventRow {
  id: Integer;
  type: string;
  ts: Integer;
  user_id: string | null;
  data: string;
}

export interface RevisionRow {
  id: Integer;
  label: string;
  ts: Integer;
  user_id: string | null;
  size: Integer;
}

export interface RoomRow {
  name: string;
  created_at: Integer;
  updated_at: Integer;
  last_seq: Integer;
}

/** Rows to the store's types, once for both SQL backends. */
export const toEvent = (r: EventRow): StoredEvent => ({
  id: Number(r.id),
  type: r.type,
  ts: Number(r.ts),
  user: r.user_id,
  data: JSON.parse(r.data) as unknown,
});

export const toRevision = (r: RevisionRow): RevisionInfo => ({
  id: Number(r.id),
  label: r.label,
  ts: Number(r.ts),
  user: r.user_id,
  size: Number(r.size),
});

export const toRoomInfo = (r: RoomRow): RoomInfo => ({
  name: r.name,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  lastSeq: Number(r.last_seq),
});
