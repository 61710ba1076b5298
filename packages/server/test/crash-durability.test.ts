import * as prng from 'lib0/prng';
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
      writers.forEach((w, i) => {
        w.stop();
        for (const item of w.ackedItems(ackedNow[i]!)) mustHave.add(item);
        w.peer.terminate();
      });
      expect(mustHave.size, `seed ${seed} round ${round}: nothing was acked`).toBeGreaterThan(0);

      // Restart and read everything back through a fresh client.
      const check = await spawnServer(['--data-dir', dir.dir]);
      const reader = await connectPeer(`${check.syncUrl}/crash`, { tandem: false, doc: new Y.Doc() });
      await eventually(() => expect(reader.synced).toBe(true));
      const items = reader.doc.getArray<string>('log').toArray();
      const counts = new Map<string, number>();
      for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
      const missing = [...mustHave].filter((item) => !counts.has(item));
      const doubled = [...counts].filter(([, c]) => c > 1).map(([item]) => item);
      expect(missing, `seed ${seed} round ${round}: acked but lost`).toEqual([]);
      expect(doubled, `seed ${seed} round ${round}: applied twice`).toEqual([]);
      reader.terminate();
      check.child.kill('SIGTERM');
      expect((await check.exited).code).toBe(0);
    }
  }, 120_000);
});
