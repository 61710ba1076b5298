import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStore, type SqliteStoreOptions } from '../src/storage/sqlite/sqlite-store.js';
import { afterThisTest } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { storeConformance } from './support/store-conformance.js';
import { tempDir } from './support/server.js';
import { textUpdate } from './support/text-update.js';

function conformance(name: string, options: SqliteStoreOptions): void {
  let current: { dir: string; cleanup: () => void } | null = null;
  storeConformance(name, {
    create() {
      current = tempDir('tandem-sqlite-');
      return new SqliteStore(join(current.dir, 'tandem.db'), options);
    },
    reopen() {
      return new SqliteStore(join(current!.dir, 'tandem.db'), options);
    },
    cleanup() {
      current?.cleanup();
      current = null;
    },
  });
}

// Default: appends mostly stay in the update log for the duration of a test.
conformance('SqliteStore', {});
// Every commit is followed by a drain into the per-room table.
conformance('SqliteStore, draining after every commit', { drainAfterAppends: 1 });

/**
 * What a kill -9 leaves behind, in-process: the database handle gone without a drain, and the lock file
 * as a dead process leaves it (released here, since this process is still alive to hold it).
 */
function dieWithoutClosing(store: SqliteStore): void {
  const internals = store as unknown as { db: { close(): void }; lock: { release(): void } };
  internals.db.close();
  internals.lock.release();
}

describe('SqliteStore update log', () => {
  let dir: { dir: string; cleanup: () => void };
  const open = (options: SqliteStoreOptions = {}): SqliteStore => {
    const store = new SqliteStore(join(dir.dir, 'tandem.db'), options);
    afterThisTest(() => store.close());
    return store;
  };
  const rawCount = (sql: string): number => {
    const db = new DatabaseSync(join(dir.dir, 'tandem.db'), { readOnly: true });
    try {
      return (db.prepare(sql).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const neverDrains = { drainIntervalMs: 3_600_000 };

  it('recovers appends that were committed to the log but never drained (a crash)', async () => {
    dir = tempDir('tandem-sqlite-log-');
    // Never closed: from the next process's point of view this one was killed after its commits.
    const crashed = new SqliteStore(join(dir.dir, 'tandem.db'), neverDrains);
    const updates = [textUpdate('a', 1), textUpdate('b', 2), textUpdate('c', 3)];
    for (const u of updates) await crashed.appendUpdate('r', u);
    await crashed.appendUpdate('s', textUpdate('x', 4));
    expect(rawCount('SELECT COUNT(*) AS n FROM update_log')).toBe(4);
    dieWithoutClosing(crashed);

    const store = open(neverDrains);
    expect(rawCount('SELECT COUNT(*) AS n FROM update_log')).toBe(0);
    expect(await store.loadRoom('r')).toEqual({ snapshot: null, snapshotSeq: 0, updates, lastSeq: 3 });
    expect((await store.getRoomInfo('s'))?.lastSeq).toBe(1);
    expect(await store.appendUpdate('r', textUpdate('d', 5))).toBe(4);
  });

  it('reports and continues the position of a room whose appends are still in the log', async () => {
    dir = tempDir('tandem-sqlite-log-');
    const store = open(neverDrains);
    for (let i = 0; i < 3; i++) await store.appendUpdate('r', textUpdate(`u${i}`, i + 1));
    expect(rawCount("SELECT last_seq AS n FROM rooms WHERE name = 'r'")).toBe(0);
    expect((await store.getRoomInfo('r'))?.lastSeq).toBe(3);
    expect((await store.listRooms({ limit: 10 })).map((r) => [r.name, r.lastSeq])).toEqual([['r', 3]]);
    expect((await store.loadRoom('r'))?.lastSeq).toBe(3); // loading drains the room's rows first
    expect(rawCount("SELECT last_seq AS n FROM rooms WHERE name = 'r'")).toBe(3);
    expect(await store.appendUpdate('r', textUpdate('after', 9))).toBe(4);
  });

  it('drops rows a snapshot already covers when the log drains, keeping later ones', async () => {
    dir = tempDir('tandem-sqlite-log-');
    const store = open(neverDrains);
    const doc = new Y.Doc();
    for (let i = 0; i < 4; i++) {
      const sv = Y.encodeStateVector(doc);
      doc.getText('t').insert(0, `${i}`);
      await store.appendUpdate('r', Y.encodeStateAsUpdate(doc, sv));
    }
    await store.compact('r', 3, Y.encodeStateAsUpdate(doc));
    await store.close();
    expect(rawCount("SELECT COUNT(*) AS n FROM updates WHERE room = 'r'")).toBe(1);
    const loaded = await open(neverDrains).loadRoom('r');
    expect(loaded).toMatchObject({ snapshotSeq: 3, lastSeq: 4 });
    expect(loaded?.updates).toHaveLength(1);
  });

  it('drains on its interval and as soon as the log holds enough appends', async () => {
    dir = tempDir('tandem-sqlite-log-');
    const byInterval = open({ drainIntervalMs: 30 });
    await byInterval.appendUpdate('r', textUpdate('a', 1));
    await eventually(() => expect(rawCount('SELECT COUNT(*) AS n FROM update_log')).toBe(0));
    expect(rawCount("SELECT COUNT(*) AS n FROM updates WHERE room = 'r'")).toBe(1);
    await byInterval.close();

    const bySize = open({ drainIntervalMs: 3_600_000, drainAfterAppends: 5 });
    for (let i = 0; i < 4; i++) await bySize.appendUpdate('r', textUpdate(`b${i}`, 10 + i));
    await new Promise((r) => setTimeout(r, 20));
    expect(rawCount('SELECT COUNT(*) AS n FROM update_log')).toBe(4);
    await bySize.appendUpdate('r', textUpdate('b4', 20));
    await eventually(() => expect(rawCount('SELECT COUNT(*) AS n FROM update_log')).toBe(0));
    expect((await bySize.loadRoom('r'))?.updates).toHaveLength(6);
  });

  it('hands out the same seqs again after a failed commit, and deletes rows still in the log', async () => {
    dir = tempDir('tandem-sqlite-log-');
    const store = open(neverDrains);
    expect(await store.appendUpdate('ok', textUpdate('a', 1))).toBe(1);
    const admin = new DatabaseSync(join(dir.dir, 'tandem.db'));
    admin.exec(`CREATE TRIGGER refuse BEFORE INSERT ON update_log WHEN NEW.room = 'bad'
                BEGIN SELECT RAISE(ABORT, 'refused by test'); END`);
    // One commit: the refused append takes the other one down with it.
    const results = await Promise.allSettled([
      store.appendUpdate('ok', textUpdate('b', 2)),
      store.appendUpdate('bad', textUpdate('c', 3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    admin.exec('DROP TRIGGER refuse');
    admin.close();
    expect(await store.appendUpdate('ok', textUpdate('b', 2))).toBe(2);
    expect(await store.getRoomInfo('bad')).toBeNull();

    await store.deleteRoom('ok');
    expect(rawCount('SELECT COUNT(*) AS n FROM update_log')).toBe(0);
    expect(await store.loadRoom('ok')).toBeNull();
    expect(await store.appendUpdate('ok', textUpdate('new', 7))).toBe(1);
  });
});

describe('SqliteStore commit window', () => {
  it('commits a write after a quiet spell at once and spaces later commits by the window', async () => {
    const dir = tempDir('tandem-sqlite-window-');
    const store = new SqliteStore(join(dir.dir, 'tandem.db'), { commitWindowMs: 1_000 });
    try {
      const quiet = store.appendUpdate('r', textUpdate('a', 1));
      const first = await Promise.race([quiet, new Promise((r) => setTimeout(() => r('timeout'), 500))]);
      expect(first).toBe(1);

      const startedAt = performance.now();
      const commitsBefore = store.commits;
      // Both wait for the window and share its commit.
      const seqs = await Promise.all([
        store.appendUpdate('r', textUpdate('b', 2)),
        store.appendUpdate('r', textUpdate('c', 3)),
      ]);
      expect(seqs).toEqual([2, 3]);
      expect(store.commits - commitsBefore).toBe(1);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(900);
    } finally {
      await store.close();
      dir.cleanup();
    }
  });
});
