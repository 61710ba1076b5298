import type { Role } from '../../auth/roles.js';
import type { Collaborator } from '../store.js';
import type { EventRow, RevisionRow } from '../sql-rows.js';
import type { SqliteDatabase } from './sqlite-database.js';

/** Every statement the SQLite store runs, prepared once at open against the migrated schema. */
export function prepareStatements(db: SqliteDatabase) {
  return {
    select1: db.prepare('SELECT 1'),
    probe: db.prepare<[number]>('INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)'),
    createRoom: db.prepare<[string, number, number]>(
      'INSERT INTO rooms (name, created_at, updated_at, last_seq) VALUES (?, ?, ?, 0)',
    ),
    insertLog: db.prepare<[string, number, Uint8Array, number]>(
      'INSERT INTO update_log (room, seq, data, ts) VALUES (?, ?, ?, ?)',
    ),
    loggedRooms: db.prepare<[], { room: string; last_seq: number; updated_at: number; appends: number }>(
      'SELECT room, MAX(seq) AS last_seq, MAX(ts) AS updated_at, COUNT(*) AS appends FROM update_log GROUP BY room',
    ),
    // Sorted so each room's rows go into its page together; rows a snapshot already covers
    // (compacted while still in the log) are dropped here instead.
    moveLog: db.prepare<[]>(
      `INSERT INTO updates (room, seq, data, ts)
       SELECT l.room, l.seq, l.data, l.ts FROM update_log l LEFT JOIN snapshots s ON s.room = l.room
       WHERE s.upto_seq IS NULL OR l.seq > s.upto_seq
       ORDER BY l.room, l.seq`,
    ),
    clearLog: db.prepare<[]>('DELETE FROM update_log'),
    setRoomPosition: db.prepare<[number, number, string]>(
      'UPDATE rooms SET last_seq = ?, updated_at = MAX(updated_at, ?) WHERE name = ?',
    ),
    deleteLogged: db.prepare<[string]>('DELETE FROM update_log WHERE room = ?'),
    room: db.prepare<[string], { last_seq: number }>('SELECT last_seq FROM rooms WHERE name = ?'),
    snapshot: db.prepare<[string], { upto_seq: number; state: Uint8Array }>(
      'SELECT upto_seq, state FROM snapshots WHERE room = ?',
    ),
    tail: db.prepare<[string, number], { data: Uint8Array }>(
      'SELECT data FROM updates WHERE room = ? AND seq > ? ORDER BY seq',
    ),
    upsertSnapshot: db.prepare<[string, number, Uint8Array, number]>(
      `INSERT INTO snapshots (room, upto_seq, state, ts) VALUES (?, ?, ?, ?)
       ON CONFLICT (room) DO UPDATE SET upto_seq = excluded.upto_seq, state = excluded.state, ts = excluded.ts
       WHERE excluded.upto_seq > snapshots.upto_seq`,
    ),
    dropUpdates: db.prepare<[string, number]>('DELETE FROM updates WHERE room = ? AND seq <= ?'),
    deleteRoom: db.prepare<[string]>('DELETE FROM rooms WHERE name = ?'),
    deleteUpdates: db.prepare<[string]>('DELETE FROM updates WHERE room = ?'),
    deleteSnapshot: db.prepare<[string]>('DELETE FROM snapshots WHERE room = ?'),
    deleteCollaborators: db.prepare<[string]>('DELETE FROM collaborators WHERE room = ?'),
    deleteEvents: db.prepare<[string]>('DELETE FROM events WHERE room = ?'),
    deleteRevisions: db.prepare<[string]>('DELETE FROM revisions WHERE room = ?'),
    roomInfo: db.prepare<[string], { name: string; created_at: number; updated_at: number; last_seq: number }>(
      'SELECT name, created_at, updated_at, last_seq FROM rooms WHERE name = ?',
    ),
    listRooms: db.prepare<[string, number], { name: string; created_at: number; updated_at: number; last_seq: number }>(
      'SELECT name, created_at, updated_at, last_seq FROM rooms WHERE name > ? ORDER BY name LIMIT ?',
    ),
    listVisibleRooms: db.prepare<
      [string, string, string, number],
      { name: string; created_at: number; updated_at: number; last_seq: number }
    >(
      `SELECT name, created_at, updated_at, last_seq FROM rooms r
       WHERE name > ?
         AND (EXISTS (SELECT 1 FROM json_each(?) p WHERE tandem_room_matches(p.value, r.name))
              OR EXISTS (SELECT 1 FROM collaborators c WHERE c.room = r.name AND c.user_id = ?))
       ORDER BY name LIMIT ?`,
    ),
    touchRoom: db.prepare<[string, number, number]>(
      `INSERT INTO rooms (name, created_at, updated_at, last_seq) VALUES (?, ?, ?, 0)
       ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at`,
    ),
    eventByKey: db.prepare<[string, string], EventRow>(
      'SELECT id, type, ts, user_id, data FROM events WHERE room = ? AND idempotency_key = ?',
    ),
    nextEventId: db.prepare<[string, string], { next: number }>(
      `SELECT MAX(COALESCE((SELECT MAX(id) FROM events WHERE room = ?), 0),
                  COALESCE((SELECT events_pruned_upto FROM rooms WHERE name = ?), 0)) + 1 AS next`,
    ),
    insertEvent: db.prepare<[string, number, string, number, string | null, string, string | null, number]>(
      'INSERT INTO events (room, id, type, ts, user_id, data, idempotency_key, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    lastEventPosition: db.prepare<[], { last: number | null }>('SELECT MAX(position) AS last FROM events'),
    eventsAfter: db.prepare<[number, number], EventRow & { room: string; position: number }>(
      `SELECT room, position, id, type, ts, user_id, data FROM events
       WHERE position > ? ORDER BY position LIMIT ?`,
    ),
    getCursor: db.prepare<[string], { position: number }>('SELECT position FROM cursors WHERE name = ?'),
    setCursor: db.prepare<[string, number]>(
      `INSERT INTO cursors (name, position) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
    ),
    listEvents: db.prepare<[string, number, number], EventRow>(
      'SELECT id, type, ts, user_id, data FROM events WHERE room = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    lastEventId: db.prepare<[string], { last: number | null }>('SELECT MAX(id) AS last FROM events WHERE room = ?'),
    pruneEvents: db.prepare<[string, number]>('DELETE FROM events WHERE room = ? AND id <= ?'),
    setHorizon: db.prepare<[number, string]>(
      'UPDATE rooms SET events_pruned_upto = MAX(events_pruned_upto, ?) WHERE name = ?',
    ),
    horizon: db.prepare<[string], { upto: number }>('SELECT events_pruned_upto AS upto FROM rooms WHERE name = ?'),
    nextRevisionId: db.prepare<[string], { next: number }>(
      'SELECT COALESCE(MAX(id), 0) + 1 AS next FROM revisions WHERE room = ?',
    ),
    insertRevision: db.prepare<[string, number, string, number, string | null, Uint8Array]>(
      'INSERT INTO revisions (room, id, label, ts, user_id, state) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    listRevisions: db.prepare<[string, number], RevisionRow>(
      'SELECT id, label, ts, user_id, length(state) AS size FROM revisions WHERE room = ? ORDER BY id DESC LIMIT ?',
    ),
    getRevision: db.prepare<[string, number], RevisionRow & { state: Uint8Array }>(
      'SELECT id, label, ts, user_id, length(state) AS size, state FROM revisions WHERE room = ? AND id = ?',
    ),
    getCollaborator: db.prepare<[string, string], { role: Role }>(
      'SELECT role FROM collaborators WHERE room = ? AND user_id = ?',
    ),
    listCollaborators: db.prepare<[string], Collaborator>(
      'SELECT user_id AS user, role FROM collaborators WHERE room = ? ORDER BY user_id',
    ),
    setCollaborator: db.prepare<[string, string, Role]>(
      `INSERT INTO collaborators (room, user_id, role) VALUES (?, ?, ?)
       ON CONFLICT (room, user_id) DO UPDATE SET role = excluded.role`,
    ),
    removeCollaborator: db.prepare<[string, string]>('DELETE FROM collaborators WHERE room = ? AND user_id = ?'),
    roomNames: db.prepare<[string, number], { name: string }>(
      `SELECT name FROM (SELECT name FROM rooms UNION SELECT room FROM collaborators UNION SELECT room FROM revisions)
       WHERE name > ? ORDER BY name LIMIT ?`,
    ),
    holdsAnything: db.prepare<[string, string, string], { held: number }>(
      `SELECT EXISTS (SELECT 1 FROM rooms WHERE name = ?) OR EXISTS (SELECT 1 FROM collaborators WHERE room = ?)
         OR EXISTS (SELECT 1 FROM revisions WHERE room = ?) AS held`,
    ),
    importRoom: db.prepare<[string, number, number, number, number]>(
      'INSERT INTO rooms (name, created_at, updated_at, last_seq, events_pruned_upto) VALUES (?, ?, ?, ?, ?)',
    ),
    // No position: imported events are history, which webhooks must not deliver again.
    importEvent: db.prepare<[string, number, string, number, string | null, string]>(
      'INSERT INTO events (room, id, type, ts, user_id, data) VALUES (?, ?, ?, ?, ?, ?)',
    ),
  };
}

export type SqliteStatements = ReturnType<typeof prepareStatements>;
