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
