import type pg from 'pg';
import { dumpNeedsRoomInfo, type RoomDump } from '../store.js';

/**
 * Inside a commit: writes a whole room keeping its ids, times and log position, or resolves false when
 * anything is stored for the room already (the caller rejects with RoomExistsError).
 */
export async function importRoomIn(client: pg.ClientBase, dump: RoomDump): Promise<boolean> {
  const { name } = dump;
  const lastEventId = dump.events.reduce((max, e) => Math.max(max, e.id), dump.eventHorizon);
  const lastRevisionId = dump.revisions.reduce((max, r) => Math.max(max, r.id), 0);
  const held = await client.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM rooms WHERE name = $1) OR EXISTS (SELECT 1 FROM collaborators WHERE room = $1)
       OR EXISTS (SELECT 1 FROM revisions WHERE room = $1) AS held`,
    [name],
  );
  if (held.rows[0]!.held) return false;
  // The row insert is also the lock: of two imports racing, the second finds the row. Revisions
  // need it too, for their id counter (as createRevision makes it).
  if (dumpNeedsRoomInfo(dump) || dump.revisions.length > 0) {
    const createdAt = dump.createdAt ?? dump.revisions[0]?.ts ?? Date.now();
    const created = await client.query(
      `INSERT INTO rooms (name, created_at, updated_at, last_seq, last_event_id, last_revision_id, events_pruned_upto)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING`,
      [name, createdAt, dump.updatedAt ?? createdAt, dump.lastSeq, lastEventId, lastRevisionId, dump.eventHorizon],
    );
    if (created.rowCount === 0) return false;
  }
  if (dump.state && dump.lastSeq > 0) {
    await client.query('INSERT INTO snapshots (room, upto_seq, state, ts) VALUES ($1, $2, $3, $4)', [
      name,
      dump.lastSeq,
      Buffer.from(dump.state),
      Date.now(),
    ]);
  }
  for (const c of dump.collaborators) {
    await client.query('INSERT INTO collaborators (room, user_id, role) VALUES ($1, $2, $3)', [name, c.user, c.role]);
  }
  // Position 0, below every delivery cursor: imported events are history, which webhooks must not
  // deliver again. One statement for all of them: a room may hold thousands.
  await client.query(
    `INSERT INTO events (room, id, type, ts, user_id, data, position)
   SELECT $1, id, type, ts, user_id, data, 0
   FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS e(id, type, ts, user_id, data)`,
    [
      name,
      dump.events.map((e) => e.id),
      dump.events.map((e) => e.type),
      dump.events.map((e) => e.ts),
      dump.events.map((e) => e.user),
      dump.events.map((e) => JSON.stringify(e.data ?? null)),
    ],
  );
  for (const r of dump.revisions) {
    await client.query('INSERT INTO revisions (room, id, label, ts, user_id, state) VALUES ($1, $2, $3, $4, $5, $6)', [
      name,
      r.id,
      r.label,
      r.ts,
      r.user,
      Buffer.from(r.state),
    ]);
  }
  return true;
}
