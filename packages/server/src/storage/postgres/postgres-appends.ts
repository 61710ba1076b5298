import type pg from 'pg';

/** An update append waiting in a batch: consecutive ones run as one statement pair. */
export interface PendingAppend {
  room: string;
  data: Buffer;
}

/**
 * Consecutive appends of a batch in two statements, whatever their number: the rooms' positions
 * advanced by their counts, then every row inserted. Per-append statements cost two round trips each,
 * during which the batch holds its rooms' locks and the other instances wait for them. Seqs are
 * handed out in call order within each room. The rows exist and are locked already (lockRooms).
 */
export async function appendRun(client: pg.ClientBase, run: readonly PendingAppend[]): Promise<number[]> {
  const counts = new Map<string, number>();
  for (const w of run) counts.set(w.room, (counts.get(w.room) ?? 0) + 1);
  const now = Date.now();
  const { rows } = await client.query<{ name: string; last_seq: string }>(
    `UPDATE rooms SET last_seq = rooms.last_seq + c.n, updated_at = GREATEST(rooms.updated_at, $3)
     FROM unnest($1::text[], $2::int[]) AS c(name, n) WHERE rooms.name = c.name
     RETURNING rooms.name, rooms.last_seq`,
    [[...counts.keys()], [...counts.values()], now],
  );
  const next = new Map(rows.map((r) => [r.name, Number(r.last_seq) - counts.get(r.name)! + 1]));
  const seqs = run.map((w) => {
    const seq = next.get(w.room)!;
    next.set(w.room, seq + 1);
    return seq;
  });
  await client.query(
    `INSERT INTO updates (room, seq, data, ts)
     SELECT room, seq, data, $4 FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS u(room, seq, data)`,
    [run.map((w) => w.room), seqs, run.map((w) => w.data), now],
  );
  return seqs;
}

/** Inside a commit: the room's next seq under its row lock (held to the commit), and the row. */
export async function appendOne(client: pg.ClientBase, room: string, data: Buffer): Promise<number> {
  const now = Date.now();
  const { rows } = await client.query<{ last_seq: string }>(
    `INSERT INTO rooms (name, created_at, updated_at, last_seq) VALUES ($1, $2, $2, 1)
     ON CONFLICT (name) DO UPDATE SET last_seq = rooms.last_seq + 1, updated_at = GREATEST(rooms.updated_at, $2)
     RETURNING last_seq`,
    [room, now],
  );
  const seq = Number(rows[0]!.last_seq);
  await client.query('INSERT INTO updates (room, seq, data, ts) VALUES ($1, $2, $3, $4)', [room, seq, data, now]);
  return seq;
}
