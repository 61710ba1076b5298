import type { Logger } from '../../ops/logger.js';
import type { SqliteDatabase } from './sqlite-database.js';

/**
 * Recovers from an earlier accident where two processes wrote to this file at once (before the lock
 * existed, or with the lock file removed by hand): log rows whose seq repeats, or collides with an
 * update already drained, would make the drain at open fail forever. Such a room's log rows get
 * fresh seqs after everything stored, in commit order; since Yjs updates are idempotent, keeping
 * every copy loses nothing. Room positions behind their stored updates are moved forward too.
 */
export function repairSequences(db: SqliteDatabase, logger: Logger | undefined): void {
  db.transaction(() => {
    const conflicted = db
      .prepare<[], { room: string }>(
        `SELECT room FROM update_log l GROUP BY room
         HAVING COUNT(*) > COUNT(DISTINCT seq)
             OR EXISTS (SELECT 1 FROM update_log x JOIN updates u ON u.room = x.room AND u.seq = x.seq
                        WHERE x.room = l.room)`,
      )
      .all();
    for (const { room } of conflicted) {
      const base = db
        .prepare<[string, string, string], { base: number }>(
          `SELECT MAX(COALESCE((SELECT MAX(seq) FROM updates WHERE room = ?), 0),
                      COALESCE((SELECT upto_seq FROM snapshots WHERE room = ?), 0),
                      COALESCE((SELECT last_seq FROM rooms WHERE name = ?), 0)) AS base`,
        )
        .get(room, room, room)!.base;
      const ids = db
        .prepare<[string], { id: number }>('SELECT id FROM update_log WHERE room = ? ORDER BY id')
        .all(room);
      const renumber = db.prepare<[number, number]>('UPDATE update_log SET seq = ? WHERE id = ?');
      ids.forEach(({ id }, i) => renumber.run(base + i + 1, id));
      logger?.warn(
        { room, rows: ids.length, from: base + 1 },
        'update log had repeated sequence numbers (two processes wrote this database); re-sequenced',
      );
    }
    const behind = db
      .prepare(
        `UPDATE rooms SET last_seq = (SELECT MAX(seq) FROM updates WHERE room = rooms.name)
         WHERE last_seq < (SELECT MAX(seq) FROM updates WHERE room = rooms.name)`,
      )
      .run().changes;
    if (behind) logger?.warn({ rooms: behind }, 'room positions were behind their stored updates; moved forward');
  })();
}
