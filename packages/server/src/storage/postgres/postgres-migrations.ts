import type pg from 'pg';

/**
 * PostgreSQL schema, one entry per version; applied in order, each in its own transaction, and recorded
 * in `tandem_migrations`. Never edit an entry that has shipped: add one.
 */
export const POSTGRES_MIGRATIONS: string[] = [
  `CREATE TABLE rooms (
     name text PRIMARY KEY,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     -- Highest update seq, event id and revision id handed out: advanced under this row's lock.
     last_seq bigint NOT NULL DEFAULT 0,
     last_event_id bigint NOT NULL DEFAULT 0,
     last_revision_id bigint NOT NULL DEFAULT 0,
     events_pruned_upto bigint NOT NULL DEFAULT 0
   );
   CREATE TABLE updates (
     room text NOT NULL,
     seq bigint NOT NULL,
     data bytea NOT NULL,
     ts bigint NOT NULL,
     PRIMARY KEY (room, seq)
   );
   CREATE TABLE snapshots (
     room text PRIMARY KEY,
     upto_seq bigint NOT NULL,
     state bytea NOT NULL,
     ts bigint NOT NULL
   );
   CREATE TABLE collaborators (
     room text NOT NULL,
     user_id text NOT NULL,
     role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
     PRIMARY KEY (room, user_id)
   );
   CREATE TABLE events (
     room text NOT NULL,
     id bigint NOT NULL,
     type text NOT NULL,
     ts bigint NOT NULL,
     user_id text,
     -- The JSON text as published (jsonb would reorder keys).
     data text NOT NULL,
     idempotency_key text,
     position bigint NOT NULL,
     PRIMARY KEY (room, id)
   );
   CREATE UNIQUE INDEX events_idempotency ON events (room, idempotency_key) WHERE idempotency_key IS NOT NULL;
   CREATE INDEX events_position ON events (position);
   CREATE TABLE event_position (id integer PRIMARY KEY CHECK (id = 1), last bigint NOT NULL);
   INSERT INTO event_position (id, last) VALUES (1, 0);
   CREATE TABLE revisions (
     room text NOT NULL,
     id bigint NOT NULL,
     label text NOT NULL,
     ts bigint NOT NULL,
     user_id text,
     state bytea NOT NULL,
     PRIMARY KEY (room, id)
   );
   CREATE TABLE cursors (name text PRIMARY KEY, position bigint NOT NULL);
   CREATE TABLE health_probe (id integer PRIMARY KEY, at bigint NOT NULL);`,
];

// Arbitrary, fixed: only Tandem's migrations take this advisory lock.
const MIGRATION_LOCK = 7_381_229;

/** Versioned, idempotent migrations, under an advisory lock so instances starting together take turns. */
export async function migratePostgres(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    // Even CREATE SCHEMA IF NOT EXISTS races with itself: everything happens under the lock.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS tandem_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
      );
      const { rows } = await client.query<{ version: number }>(
        'SELECT COALESCE(MAX(version), 0) AS version FROM tandem_migrations',
      );
      const current = rows[0]!.version;
      if (current > POSTGRES_MIGRATIONS.length) {
        throw new Error(`database schema version ${current} is newer than this Tandem (${POSTGRES_MIGRATIONS.length})`);
      }
      for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(POSTGRES_MIGRATIONS[v]!);
          await client.query('INSERT INTO tandem_migrations (version, applied_at) VALUES ($1, $2)', [
            v + 1,
            Date.now(),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
