import type { SqliteDatabase } from './sqlite-database.js';

/**
 * SQLite schema, one entry per version (PRAGMA user_version): applied in order, each in its own
 * transaction, at open. Never edit an entry that has shipped: add one. The PostgreSQL schema follows
 * the same rule in postgres-migrations.ts.
 */
export const SQLITE_MIGRATIONS: string[] = [
  `CREATE TABLE rooms (
     name TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     last_seq INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE updates (
     room TEXT NOT NULL,
     seq INTEGER NOT NULL,
     data BLOB NOT NULL,
     ts INTEGER NOT NULL,
     PRIMARY KEY (room, seq)
   ) WITHOUT ROWID;
   CREATE TABLE snapshots (
     room TEXT PRIMARY KEY,
     upto_seq INTEGER NOT NULL,
     state BLOB NOT NULL,
     ts INTEGER NOT NULL
   );`,
  `CREATE TABLE collaborators (
     room TEXT NOT NULL,
     user_id TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
     PRIMARY KEY (room, user_id)
   ) WITHOUT ROWID;`,
  `CREATE TABLE events (
     room TEXT NOT NULL,
     id INTEGER NOT NULL,
     type TEXT NOT NULL,
     ts INTEGER NOT NULL,
     user_id TEXT,
     data TEXT NOT NULL,
     idempotency_key TEXT,
     PRIMARY KEY (room, id)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX events_idempotency ON events (room, idempotency_key) WHERE idempotency_key IS NOT NULL;
   CREATE TABLE revisions (
     room TEXT NOT NULL,
     id INTEGER NOT NULL,
     label TEXT NOT NULL,
     ts INTEGER NOT NULL,
     user_id TEXT,
     state BLOB NOT NULL,
     PRIMARY KEY (room, id)
   ) WITHOUT ROWID;`,
  // Appends land here first: rowid order puts every append of a commit on the same last page, where
  // the per-room \`updates\` table would dirty (and write to the WAL) one page per room per commit.
  `CREATE TABLE update_log (
     id INTEGER PRIMARY KEY,
     room TEXT NOT NULL,
     seq INTEGER NOT NULL,
     data BLOB NOT NULL,
     ts INTEGER NOT NULL
   );`,
  // One row rewritten by readiness checks while commits are failing, to see whether writing works again.
  `CREATE TABLE health_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);`,
  // Highest event id deleted by retention: later ids keep growing past it, and readers behind it are told.
  `ALTER TABLE rooms ADD COLUMN events_pruned_upto INTEGER NOT NULL DEFAULT 0;`,
  // A store-wide order of events for delivery cursors (webhooks), and the cursors themselves.
  `ALTER TABLE events ADD COLUMN position INTEGER;
   CREATE INDEX events_position ON events (position) WHERE position IS NOT NULL;
   CREATE TABLE cursors (name TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;`,
];

/** Brings the database to the newest schema; refuses one newer than this Tandem. */
export function migrateSqlite(db: SqliteDatabase): void {
  const version = Number(db.pragmaValue('user_version'));
  if (version > SQLITE_MIGRATIONS.length) {
    throw new Error(`database schema version ${version} is newer than this Tandem (${SQLITE_MIGRATIONS.length})`);
  }
  for (let v = version; v < SQLITE_MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}
