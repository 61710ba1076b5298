import pg from 'pg';
import type { Role } from '../../auth/roles.js';
import { patternToRegExp } from '../../auth/room-pattern.js';
import type { Logger } from '../../ops/logger.js';
import { PostgresLeases } from './postgres-leases.js';
import { appendOne } from './postgres-appends.js';
import { PostgresGroupCommit } from './postgres-group-commit.js';
import { importRoomIn } from './postgres-import.js';
import { migratePostgres } from './postgres-migrations.js';
import {
  RoomExistsError,
  StoreUnavailableError,
  type Collaborator,
  type ListRoomsOptions,
  type LoggedEvent,
  type NewEvent,
  type RevisionInfo,
  type RoomDump,
  type RoomInfo,
  type Store,
  type StoredEvent,
  type StoredRoom,
} from '../store.js';
import { toEvent, toRevision, toRoomInfo, type EventRow, type RevisionRow, type RoomRow } from '../sql-rows.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Tables live in this schema (created if missing); default `public`. */
  schema?: string;
  /** Pooled connections (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection before a write fails (default 5000 ms). */
  connectionTimeoutMs?: number;
  /** Shown in pg_stat_activity (default `tandem`). */
  applicationName?: string;
  logger?: Logger;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The Store on PostgreSQL, for production and for several instances sharing rooms. Writes are
 * queued and committed together (group commit: one transaction per turn of the event loop, while the
 * previous one is in flight the next batch gathers), in call order. Each room's updates get a gap-free
 * seq inside the commit, under the room row's lock (`UPDATE … RETURNING`), so seq order is commit order
 * on every instance; a serial column would hand out numbers in a different order from commits.
 * Compaction takes a per-room advisory lock, so two instances never compact one room at once, and
 * deletes only what the snapshot covers.
 */
export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;
  private readonly commits: PostgresGroupCommit;
  private closing = false;
  private readonly schema: string;
  /** Instances sharing the schema take turns by advisory-lock leases. */
  readonly leadership: PostgresLeases;

  constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName ?? 'tandem',
      options: `-c search_path=${this.schema}`,
    });
    // An idle client losing its connection (a database restart) emits here; unhandled, it would crash
    // the process. The pool replaces the client; the next query reconnects.
    this.pool.on('error', (err) => this.options.logger?.warn({ err }, 'idle PostgreSQL connection failed'));
    // A checked-out client whose connection dies between two queries of a transaction emits 'error' on
    // itself, not on the pool: without a listener that is an uncaught exception. The query in flight (or
    // the next one) still fails, and the batch's writers are told.
    this.pool.on('connect', (client) => {
      client.on('error', (err) => this.options.logger?.warn({ err }, 'PostgreSQL connection failed'));
    });
    this.ready = migratePostgres(this.pool, this.schema);
    this.commits = new PostgresGroupCommit(this.pool, this.ready);
    this.leadership = new PostgresLeases(
      {
        connectionString: options.connectionString,
        schema: this.schema,
        connectionTimeoutMs: options.connectionTimeoutMs,
        applicationName: options.applicationName,
      },
      this.ready,
    );
    // A store that cannot migrate fails its first use, not the process.
    this.ready.catch(() => undefined);
  }

  /** Resolves once the schema is migrated (the server awaits it before listening). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  private async read<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    await this.ready;
    return (await this.pool.query<T>(sql, params)).rows;
  }

  /** Runs `read` in one read-only snapshot of the database: a compaction in between cannot skip rows. */
  private async readSnapshot<T>(read: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await read(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  loadRoom(room: string): Promise<StoredRoom | null> {
    return this.readSnapshot(async (client) => {
      const meta = await client.query<{ last_seq: string }>('SELECT last_seq FROM rooms WHERE name = $1', [room]);
      const snap = await client.query<{ upto_seq: string; state: Buffer }>(
        'SELECT upto_seq, state FROM snapshots WHERE room = $1',
        [room],
      );
      const snapshotSeq = snap.rows[0] ? Number(snap.rows[0].upto_seq) : 0;
      const tail = await client.query<{ data: Buffer }>(
        'SELECT data FROM updates WHERE room = $1 AND seq > $2 ORDER BY seq',
        [room, snapshotSeq],
      );
      if (!snap.rows[0] && tail.rows.length === 0) return null;
      return {
        snapshot: snap.rows[0] ? new Uint8Array(snap.rows[0].state) : null,
        snapshotSeq,
        updates: tail.rows.map((r) => new Uint8Array(r.data)),
        lastSeq: meta.rows[0] ? Number(meta.rows[0].last_seq) : 0,
      };
    });
  }

  loadTail(room: string, afterSeq: number): Promise<{ updates: Uint8Array[]; lastSeq: number } | null> {
    return this.readSnapshot(async (client) => {
      const meta = await client.query<{ last_seq: string }>('SELECT last_seq FROM rooms WHERE name = $1', [room]);
      const snap = await client.query<{ upto_seq: string }>('SELECT upto_seq FROM snapshots WHERE room = $1', [room]);
      if (!meta.rows[0] || Number(snap.rows[0]?.upto_seq ?? 0) > afterSeq) return null;
      const tail = await client.query<{ data: Buffer }>(
        'SELECT data FROM updates WHERE room = $1 AND seq > $2 ORDER BY seq',
        [room, afterSeq],
      );
      return { updates: tail.rows.map((r) => new Uint8Array(r.data)), lastSeq: Number(meta.rows[0].last_seq) };
    });
  }

  async lastSeqs(rooms: readonly string[]): Promise<Map<string, number>> {
    if (rooms.length === 0) return new Map();
    const rows = await this.read<{ name: string; last_seq: string }>(
      'SELECT name, last_seq FROM rooms WHERE name = ANY($1::text[])',
      [rooms],
    );
    return new Map(rows.map((r) => [r.name, Number(r.last_seq)]));
  }

  appendUpdate(room: string, update: Uint8Array): Promise<number> {
    const data = Buffer.from(update);
    return this.commits.enqueue((client) => appendOne(client, room, data), {
      lock: { room, create: true },
      append: { room, data },
    });
  }

  appendInitial(room: string, update: Uint8Array): Promise<number | null> {
    const data = Buffer.from(update);
    return this.commits.enqueue(
      async (client) => {
        const now = Date.now();
        await client.query(
          'INSERT INTO rooms (name, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO NOTHING',
          [room, now],
        );
        const { rows } = await client.query<{ last_seq: string }>(
          'SELECT last_seq FROM rooms WHERE name = $1 FOR UPDATE',
          [room],
        );
        if (Number(rows[0]!.last_seq) > 0) return null;
        return appendOne(client, room, data);
      },
      { lock: { room, create: true } },
    );
  }

  async compact(room: string, uptoSeq: number, state: Uint8Array): Promise<void> {
    await this.ready;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Another instance compacting this room right now: its snapshot will do.
      const { rows } = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_xact_lock(hashtext('tandem:compact:' || $1)) AS locked",
        [room],
      );
      if (rows[0]!.locked) {
        const meta = await client.query<{ last_seq: string }>('SELECT last_seq FROM rooms WHERE name = $1', [room]);
        if (meta.rows[0] && uptoSeq <= Number(meta.rows[0].last_seq)) {
          const changed = await client.query(
            `INSERT INTO snapshots (room, upto_seq, state, ts) VALUES ($1, $2, $3, $4)
             ON CONFLICT (room) DO UPDATE SET upto_seq = EXCLUDED.upto_seq, state = EXCLUDED.state, ts = EXCLUDED.ts
             WHERE EXCLUDED.upto_seq > snapshots.upto_seq`,
            [room, uptoSeq, Buffer.from(state), Date.now()],
          );
          // Only what the snapshot covers: updates committed meanwhile have higher seqs and stay.
          if ((changed.rowCount ?? 0) > 0) {
            await client.query('DELETE FROM updates WHERE room = $1 AND seq <= $2', [room, uptoSeq]);
          }
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  deleteRoom(room: string): Promise<void> {
    return this.commits.enqueue(
      async (client) => {
        for (const table of ['updates', 'snapshots', 'collaborators', 'events', 'revisions']) {
          await client.query(`DELETE FROM ${table} WHERE room = $1`, [room]);
        }
        await client.query('DELETE FROM rooms WHERE name = $1', [room]);
      },
      { lock: { room, create: false } },
    );
  }

  async listRoomNames({ after, limit }: { after?: string; limit: number }): Promise<string[]> {
    const rows = await this.read<{ name: string }>(
      `SELECT name FROM (SELECT name FROM rooms UNION SELECT room FROM collaborators UNION SELECT room FROM revisions) n
       WHERE name COLLATE "C" > $1 ORDER BY name COLLATE "C" LIMIT $2`,
      [after ?? '', limit],
    );
    return rows.map((r) => r.name);
  }

  async importRoom(dump: RoomDump): Promise<void> {
    const imported = await this.commits.enqueue((client) => importRoomIn(client, dump), {
      isolated: true,
      lock: { room: dump.name, create: false },
    });
    if (!imported) throw new RoomExistsError(dump.name);
  }

  async getCollaborator(room: string, user: string): Promise<Role | null> {
    const rows = await this.read<{ role: Role }>('SELECT role FROM collaborators WHERE room = $1 AND user_id = $2', [
      room,
      user,
    ]);
    return rows[0]?.role ?? null;
  }

  async listCollaborators(room: string): Promise<Collaborator[]> {
    return this.read<Collaborator>(
      'SELECT user_id AS "user", role FROM collaborators WHERE room = $1 ORDER BY user_id COLLATE "C"',
      [room],
    );
  }

  setCollaborator(room: string, user: string, role: Role): Promise<void> {
    return this.commits.enqueue(async (client) => {
      await client.query(
        `INSERT INTO collaborators (room, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (room, user_id) DO UPDATE SET role = EXCLUDED.role`,
        [room, user, role],
      );
    });
  }

  removeCollaborator(room: string, user: string): Promise<boolean> {
    return this.commits.enqueue(async (client) => {
      const res = await client.query('DELETE FROM collaborators WHERE room = $1 AND user_id = $2', [room, user]);
      return (res.rowCount ?? 0) > 0;
    });
  }

  async getRoomInfo(room: string): Promise<RoomInfo | null> {
    const rows = await this.read<RoomRow>('SELECT name, created_at, updated_at, last_seq FROM rooms WHERE name = $1', [
      room,
    ]);
    return rows[0] ? toRoomInfo(rows[0]) : null;
  }

  async listRooms({ after, limit, visibleTo }: ListRoomsOptions): Promise<RoomInfo[]> {
    if (!visibleTo) {
      const rows = await this.read<RoomRow>(
        'SELECT name, created_at, updated_at, last_seq FROM rooms WHERE name > $1 ORDER BY name COLLATE "C" LIMIT $2',
        [after ?? '', limit],
      );
      return rows.map(toRoomInfo);
    }
    // Room patterns become POSIX regexes (the same translation the server matches with), filtered
    // before the limit so a page is never short of rooms the caller may see.
    const patterns = visibleTo.patterns.map((p) => patternToRegExp(p).source);
    const rows = await this.read<RoomRow>(
      `SELECT name, created_at, updated_at, last_seq FROM rooms r
       WHERE name COLLATE "C" > $1
         AND (name ~ ANY($2::text[])
              OR EXISTS (SELECT 1 FROM collaborators c WHERE c.room = r.name AND c.user_id = $3))
       ORDER BY name COLLATE "C" LIMIT $4`,
      [after ?? '', patterns, visibleTo.collaborator, limit],
    );
    return rows.map(toRoomInfo);
  }

  appendEvent(room: string, event: NewEvent): Promise<{ event: StoredEvent; duplicate: boolean }> {
    const data = JSON.stringify(event.data ?? null);
    return this.commits.enqueue(
      async (client) => {
        if (event.idempotencyKey !== undefined) {
          const existing = await client.query<EventRow>(
            'SELECT id, type, ts, user_id, data FROM events WHERE room = $1 AND idempotency_key = $2',
            [room, event.idempotencyKey],
          );
          if (existing.rows[0]) return { event: toEvent(existing.rows[0]), duplicate: true };
        }
        const ts = Date.now();
        // Per-room ids and the store-wide position, both under row locks held to the commit: gap-free
        // and in commit order, which delivery cursors (webhooks) rely on.
        const idRow = await client.query<{ id: string }>(
          `INSERT INTO rooms (name, created_at, updated_at, last_event_id) VALUES ($1, $2, $2, 1)
         ON CONFLICT (name) DO UPDATE
           SET last_event_id = GREATEST(rooms.last_event_id, rooms.events_pruned_upto) + 1, updated_at = $2
         RETURNING last_event_id AS id`,
          [room, ts],
        );
        const position = await client.query<{ last: string }>(
          'UPDATE event_position SET last = last + 1 WHERE id = 1 RETURNING last',
        );
        const id = Number(idRow.rows[0]!.id);
        await client.query(
          `INSERT INTO events (room, id, type, ts, user_id, data, idempotency_key, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [room, id, event.type, ts, event.user, data, event.idempotencyKey ?? null, Number(position.rows[0]!.last)],
        );
        return {
          event: { id, type: event.type, ts, user: event.user, data: JSON.parse(data) as unknown },
          duplicate: false,
        };
      },
      { isolated: true, lock: { room, create: true } },
    );
  }

  async listEvents(room: string, { since, limit }: { since: number; limit: number }): Promise<StoredEvent[]> {
    const rows = await this.read<EventRow>(
      'SELECT id, type, ts, user_id, data FROM events WHERE room = $1 AND id > $2 ORDER BY id LIMIT $3',
      [room, since, limit],
    );
    return rows.map(toEvent);
  }

  pruneEvents(room: string, keepLast: number): Promise<number> {
    return this.commits.enqueue(
      async (client) => {
        const { rows } = await client.query<{ last: string | null }>(
          'SELECT MAX(id) AS last FROM events WHERE room = $1',
          [room],
        );
        const last = rows[0]?.last === null || rows[0]?.last === undefined ? null : Number(rows[0].last);
        if (last === null || last <= keepLast) return 0;
        const horizon = last - keepLast;
        const deleted =
          (await client.query('DELETE FROM events WHERE room = $1 AND id <= $2', [room, horizon])).rowCount ?? 0;
        if (deleted > 0) {
          await client.query('UPDATE rooms SET events_pruned_upto = GREATEST(events_pruned_upto, $1) WHERE name = $2', [
            horizon,
            room,
          ]);
        }
        return deleted;
      },
      { lock: { room, create: false } },
    );
  }

  async eventHorizon(room: string): Promise<number> {
    const rows = await this.read<{ upto: string }>('SELECT events_pruned_upto AS upto FROM rooms WHERE name = $1', [
      room,
    ]);
    return rows[0] ? Number(rows[0].upto) : 0;
  }

  async listEventsAfter(position: number, limit: number): Promise<LoggedEvent[]> {
    const rows = await this.read<EventRow & { room: string; position: string }>(
      `SELECT room, position, id, type, ts, user_id, data FROM events
       WHERE position > $1 ORDER BY position LIMIT $2`,
      [position, limit],
    );
    return rows.map((r) => ({ position: Number(r.position), room: r.room, event: toEvent(r) }));
  }

  async lastEventPosition(): Promise<number> {
    const rows = await this.read<{ last: string }>('SELECT last FROM event_position WHERE id = 1', []);
    return Number(rows[0]?.last ?? 0);
  }

  async getCursor(name: string): Promise<number | null> {
    const rows = await this.read<{ position: string }>('SELECT position FROM cursors WHERE name = $1', [name]);
    return rows[0] ? Number(rows[0].position) : null;
  }

  setCursor(name: string, position: number): Promise<void> {
    return this.commits.enqueue(async (client) => {
      await client.query(
        'INSERT INTO cursors (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position',
        [name, position],
      );
    });
  }

  createRevision(
    room: string,
    revision: { label: string; user: string | null; state: Uint8Array },
  ): Promise<RevisionInfo> {
    const state = Buffer.from(revision.state);
    return this.commits.enqueue(
      async (client) => {
        const ts = Date.now();
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO rooms (name, created_at, updated_at, last_revision_id) VALUES ($1, $2, $2, 1)
         ON CONFLICT (name) DO UPDATE SET last_revision_id = rooms.last_revision_id + 1
         RETURNING last_revision_id AS id`,
          [room, ts],
        );
        const id = Number(rows[0]!.id);
        await client.query(
          'INSERT INTO revisions (room, id, label, ts, user_id, state) VALUES ($1, $2, $3, $4, $5, $6)',
          [room, id, revision.label, ts, revision.user, state],
        );
        return { id, label: revision.label, ts, user: revision.user, size: state.length };
      },
      { lock: { room, create: true } },
    );
  }

  async listRevisions(room: string, { limit }: { limit: number }): Promise<RevisionInfo[]> {
    const rows = await this.read<RevisionRow>(
      'SELECT id, label, ts, user_id, octet_length(state) AS size FROM revisions WHERE room = $1 ORDER BY id DESC LIMIT $2',
      [room, limit],
    );
    return rows.map(toRevision);
  }

  async getRevision(room: string, id: number): Promise<(RevisionInfo & { state: Uint8Array }) | null> {
    const rows = await this.read<RevisionRow & { state: Buffer }>(
      'SELECT id, label, ts, user_id, octet_length(state) AS size, state FROM revisions WHERE room = $1 AND id = $2',
      [room, id],
    );
    return rows[0] ? { ...toRevision(rows[0]), state: new Uint8Array(rows[0].state) } : null;
  }

  /** Reachable is not enough after a failed commit: ready again only once a write commits. */
  async ping(): Promise<void> {
    await this.read('SELECT 1', []);
    if (this.commits.failure === null) return;
    try {
      await this.pool.query(
        'INSERT INTO health_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at',
        [Date.now()],
      );
      this.commits.failure = null;
    } catch (err) {
      throw new StoreUnavailableError(`store cannot commit: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Whatever is queued or committing finishes first.
    await this.commits.close();
    await this.ready.catch(() => undefined);
    await this.leadership.close();
    await this.pool.end();
  }
}
