import { decodeMessage, encodeSyncStep2, encodeSyncUpdate, TANDEM_SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { MemoryBusHub } from '../bus/memory-bus.js';
import { parseConfig } from '../ops/config.js';
import { startServer, type TandemServer } from '../server.js';
import type { Store } from '../storage/store.js';

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A client over the Tandem protocol that pushes items into a `Y.Array` and waits for each to be acked:
 * acks number the update-bearing messages the client sent (its sync step 2 first).
 */
class AckedWriter {
  readonly doc = new Y.Doc();
  private sent = 0;
  private acked = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      const message = decodeMessage(new Uint8Array(data));
      if (message.type === 'sync-step1') {
        this.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, message.stateVector)));
      } else if (message.type === 'sync-step2' || message.type === 'sync-update') {
        Y.applyUpdate(this.doc, message.update, this);
      } else if (message.type === 'ack') {
        this.acked = Math.max(this.acked, message.seq);
      }
    });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== this) this.send(encodeSyncUpdate(update));
    });
  }

  static async open(url: string): Promise<AckedWriter> {
    const ws = new WebSocket(url, [TANDEM_SUBPROTOCOL]);
    const writer = new AckedWriter(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await until(() => writer.sent > 0 && writer.acked >= writer.sent, 'the handshake');
    return writer;
  }

  async push(item: string): Promise<void> {
    this.doc.getArray<string>('log').push([item]);
    await until(() => this.acked >= this.sent, `the ack of ${item}`);
  }

  close(): void {
    this.ws.terminate();
  }

  private send(frame: Uint8Array): void {
    this.ws.send(frame);
    this.sent++;
  }
}

/** The store for several servers at once: they close it on drain; its owner (the suite) closes it. */
function sharedStore(store: Store): Store {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The server's real behaviour over the store under test, as ShareDB's exported DB suite runs client
 * submits over an adapter: here, the compaction rule with two instances on one store.
 */
export function serverOverStore(getStore: () => Store): void {
  describe('the server over this store', () => {
    it('two instances, bus frozen: a compaction keeps the other instance’s acked updates', async () => {
      const store = sharedStore(getStore());
      const hub = new MemoryBusHub();
      const config = parseConfig({
        port: 0,
        store: 'memory',
        unloadDelayMs: 0,
        compactAfterUpdates: 3,
        busCheckMs: 60_000,
        heartbeatMs: 60_000,
      });
      const servers: TandemServer[] = [];
      const writers: AckedWriter[] = [];
      try {
        const a = await startServer(config, { store, bus: hub.connect() });
        servers.push(a);
        const b = await startServer(config, { store, bus: hub.connect() });
        servers.push(b);
        const onA = await AckedWriter.open(`${a.syncUrl}/folded`);
        writers.push(onA);
        const onB = await AckedWriter.open(`${b.syncUrl}/folded`);
        writers.push(onB);
        hub.freeze();
        const acked: string[] = [];
        // B's commits take the lower seqs and never reach A; A's take the higher ones and compact.
        for (const [writer, prefix] of [
          [onB, 'b'],
          [onA, 'a'],
        ] as const) {
          for (let i = 0; i < 6; i++) {
            await writer.push(`${prefix}${i}`);
            acked.push(`${prefix}${i}`);
          }
        }
        onA.close();
        // Unloading compacts first: the moment A folds its tail for sure.
        await until(() => a.registry.get('folded') === undefined, 'room unloaded on A');
        const stored = await store.loadRoom('folded');
        const doc = new Y.Doc();
        for (const update of [stored?.snapshot, ...(stored?.updates ?? [])]) if (update) Y.applyUpdate(doc, update);
        expect(doc.getArray<string>('log').toArray()).toEqual(expect.arrayContaining(acked));
      } finally {
        hub.thaw();
        for (const writer of writers) writer.close();
        for (const server of servers) await server.drain();
      }
    });
  });
}
