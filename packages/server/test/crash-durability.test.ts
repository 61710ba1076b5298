import { DatabaseSync } from 'node:sqlite';
import * as prng from 'lib0/prng';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { spawnServer } from './support/child-server.js';
import { eventually } from './support/eventually.js';
import { tempDir } from './support/server.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

/** A writer that pushes unique items and remembers which update number carried which item. */
class Writer {
  private readonly itemBySeq = new Map<number, string>();
  private timer: NodeJS.Timeout | null = null;
  private n = 0;

  constructor(
    readonly peer: TestPeer,
    readonly name: string,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.peer.ws.readyState !== this.peer.ws.OPEN) return;
      const item = `${this.name}-${this.n++}`;
      this.peer.doc.getArray<string>('log').push([item]);
      this.itemBySeq.set(this.peer.sent, item);
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Items whose update number had been acked. */
  ackedItems(acked: number): string[] {
    return [...this.itemBySeq].filter(([seq]) => seq <= acked).map(([, item]) => item);
  }
}

describe('crash durability (kill -9)', () => {
  const dir = tempDir('tandem-crash-');
  afterAll(() => dir.cleanup());

  it('every acked update survives SIGKILL at several kill points, exactly once', async () => {
    const seed = 7117;
    const gen = prng.create(seed);
    const mustHave = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const server = await spawnServer(['--data-dir', dir.dir]);
      const writers: Writer[] = [];
      for (let i = 0; i < 6; i++) {
        const peer = await connectPeer(`${server.syncUrl}/crash`);
        await eventually(() => expect(peer.synced).toBe(true));
        const w = new Writer(peer, `r${round}c${i}`);
        w.start(prng.int32(gen, 1, 6));
        writers.push(w);
      }
      await new Promise((r) => setTimeout(r, prng.int32(gen, 150, 700)));
      // Snapshot what was acked, then kill: acks cannot arrive after the process is gone.
      const ackedNow = writers.map((w) => w.peer.acked);
      server.child.kill('SIGKILL');
      await server.exited;
      const ackedThisRound: string[] = [];
      writers.forEach((w, i) => {
        w.stop();
        ackedThisRound.push(...w.ackedItems(ackedNow[i]!));
        w.peer.terminate();
      });
      // Per round: a round where nothing was acked would test nothing about that kill point.
      expect(ackedThisRound.length, `seed ${seed} round ${round}: nothing was acked`).toBeGreaterThan(0);
      for (const item of ackedThisRound) mustHave.add(item);

      // Restart and read everything back through a fresh client.
      const check = await spawnServer(['--data-dir', dir.dir]);
      const reader = await connectPeer(`${check.syncUrl}/crash`, { tandem: false, doc: new Y.Doc() });
      await eventually(() => expect(reader.synced).toBe(true));
      const items = reader.doc.getArray<string>('log').toArray();
      const counts = new Map<string, number>();
      for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
      const missing = [...mustHave].filter((item) => !counts.has(item));
      expect(missing, `seed ${seed} round ${round}: acked but lost`).toEqual([]);
      reader.terminate();
      check.child.kill('SIGTERM');
      expect((await check.exited).code).toBe(0);
      // Applied twice, in Tandem's terms: the same update stored under two seqs, or seqs with gaps or
      // repeats (what two writers or a botched recovery would leave). Yjs would hide both in the doc.
      const db = new DatabaseSync(join(dir.dir, 'tandem.db'), { readOnly: true });
      try {
        const rows = db
          .prepare(
            "SELECT seq, data FROM updates WHERE room = 'crash' UNION ALL SELECT seq, data FROM update_log WHERE room = 'crash' ORDER BY seq",
          )
          .all() as { seq: number; data: Uint8Array }[];
        const snapshotSeq =
          (db.prepare("SELECT upto_seq FROM snapshots WHERE room = 'crash'").get() as { upto_seq: number } | undefined)
            ?.upto_seq ?? 0;
        const lastSeq = (db.prepare("SELECT last_seq FROM rooms WHERE name = 'crash'").get() as { last_seq: number })
          .last_seq;
        expect(
          rows.map((r) => r.seq),
          `seed ${seed} round ${round}: seqs`,
        ).toEqual(Array.from({ length: lastSeq - snapshotSeq }, (_, i) => snapshotSeq + i + 1));
        const distinct = new Set(rows.map((r) => Buffer.from(r.data).toString('base64')));
        expect(distinct.size, `seed ${seed} round ${round}: an update stored twice`).toBe(rows.length);
      } finally {
        db.close();
      }
    }
  }, 120_000);
});
