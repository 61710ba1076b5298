import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Logger } from '../src/ops/logger.js';
import { LockedError } from '../src/storage/sqlite/file-lock.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { spawnServer } from './support/child-server.js';
import { tempDir } from './support/server.js';
import { textUpdate } from './support/text-update.js';

describe('one data dir, one process', () => {
  const dir = (): string => {
    const d = tempDir('tandem-lock-');
    return d.dir;
  };

  it('a second `tandem serve` on the same --data-dir is refused, naming the holder; a killed holder is taken over', async () => {
    const dataDir = dir();
    const first = await spawnServer(['--data-dir', dataDir]);
    const put = await fetch(`http://127.0.0.1:${first.port}/v1/rooms/r/content?format=text&field=t`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'acked by the first',
    });
    expect(put.status).toBe(200);

    const second = await spawnServer(['--data-dir', dataDir]).catch((err: unknown) => err as Error);
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toMatch(/exited with 2/);
    expect((second as Error).message).toContain(`in use by another Tandem process (pid ${first.child.pid}`);

    first.child.kill('SIGKILL');
    await first.exited;
    const third = await spawnServer(['--data-dir', dataDir]);
    const read = await fetch(`http://127.0.0.1:${third.port}/v1/rooms/r/content?format=text&field=t`);
    expect(await read.text()).toBe('acked by the first');
  });

  it('a second store on the same file in one process is refused until the first closes', async () => {
    const file = join(dir(), 'tandem.db');
    const store = new SqliteStore(file);
    expect(() => new SqliteStore(file)).toThrow(LockedError);
    await store.close();
    const again = new SqliteStore(file);
    await again.close();
  });

  it('opens a database two processes wrote at once: repeated seqs re-sequenced, nothing lost, a warning', async () => {
    const file = join(dir(), 'tandem.db');
    // Drained rows 1-2 in `updates`, as one process left them.
    const store = new SqliteStore(file, { drainAfterAppends: 1 });
    await store.appendUpdate('r', textUpdate('a', 1));
    await store.appendUpdate('r', textUpdate('b', 2));
    await store.close();
    // Log rows from the other process: seqs colliding with the drained ones and with each other.
    const db = new DatabaseSync(file);
    const insert = db.prepare('INSERT INTO update_log (room, seq, data, ts) VALUES (?, ?, ?, ?)');
    insert.run('r', 2, textUpdate('c', 3), Date.now());
    insert.run('r', 3, textUpdate('d', 4), Date.now());
    insert.run('r', 3, textUpdate('e', 5), Date.now());
    db.prepare("UPDATE rooms SET last_seq = 1 WHERE name = 'r'").run();
    db.close();

    const warnings: unknown[] = [];
    const logger = { warn: (details: unknown) => warnings.push(details) } as unknown as Logger;
    const reopened = new SqliteStore(file, { logger });
    const loaded = (await reopened.loadRoom('r'))!;
    const doc = new Y.Doc();
    for (const u of loaded.updates) Y.applyUpdate(doc, u);
    expect([...doc.getText('t').toString()].sort().join('')).toBe('abcde');
    expect(loaded.lastSeq).toBe(5);
    expect(warnings).toContainEqual(expect.objectContaining({ room: 'r', rows: 3, from: 3 }));
    expect(await reopened.appendUpdate('r', textUpdate('f', 6))).toBe(6);
    await reopened.close();
  });
});
