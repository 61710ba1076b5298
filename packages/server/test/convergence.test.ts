import * as prng from 'lib0/prng';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { storedDoc } from './support/stored-doc.js';
import { startTestServer, tempDir } from './support/server.js';
import { stockProvider } from './support/stock-provider.js';
import { TestPeer } from './support/test-peer.js';

const SEED = Number(process.env.TANDEM_TEST_SEED ?? 1337);

/** One simulated user: a doc that is sometimes connected (Tandem peer or stock provider) and sometimes not. */
interface Client {
  doc: Y.Doc;
  kind: 'tandem' | 'stock';
  peer: TestPeer | null;
  provider: WebsocketProvider | null;
}

function randomEdit(gen: prng.PRNG, doc: Y.Doc): void {
  const text = doc.getText('t');
  const roll = prng.int32(gen, 0, 9);
  if (roll < 6 || text.length === 0) {
    text.insert(prng.int32(gen, 0, text.length), prng.word(gen, 1, 4));
  } else if (roll < 8) {
    const at = prng.int32(gen, 0, text.length - 1);
    text.delete(at, prng.int32(gen, 1, Math.min(3, text.length - at)));
  } else {
    doc.getMap('m').set(prng.word(gen, 1, 1), prng.int32(gen, 0, 100));
  }
}

describe('convergence', () => {
  const dir = tempDir('tandem-converge-');
  afterAll(() => dir.cleanup());

  it(`random concurrent edits, disconnects and server restarts converge everywhere (seed ${SEED})`, async () => {
    const gen = prng.create(SEED);
    const config = { store: 'sqlite' as const, dataDir: dir.dir, unloadDelayMs: 20, compactAfterUpdates: 40 };
    let server: TandemServer = await startTestServer(config);
    const port = server.port;
    const url = (): string => `ws://127.0.0.1:${port}/v1/sync`;
    const clients: Client[] = Array.from({ length: 7 }, (_, i) => ({
      doc: new Y.Doc(),
      kind: i < 2 ? 'stock' : 'tandem',
      peer: null,
      provider: null,
    }));
    const connect = (c: Client): void => {
      if (c.kind === 'stock') {
        if (c.provider) c.provider.connect();
        else c.provider = stockProvider(url(), 'conv', c.doc);
      } else if (!c.peer || c.peer.closeEvent) {
        c.peer = new TestPeer(`${url()}/conv`, { doc: c.doc });
      }
    };
    const disconnect = (c: Client): void => {
      if (c.kind === 'stock') c.provider?.disconnect();
      else c.peer?.terminate();
    };
    clients.forEach(connect);

    try {
      for (let step = 0; step < 400; step++) {
        const c = prng.oneOf(gen, clients);
        const roll = prng.int32(gen, 0, 99);
        if (roll < 80) randomEdit(gen, c.doc);
        else if (roll < 90) disconnect(c);
        else connect(c);
        if (step === 150 || step === 300) {
          // Restart the server on the same port and data: clients see their sockets drop.
          await server.drain();
          server = await startTestServer({ ...config, port });
        }
        // Tandem test peers do not reconnect by themselves; bring back dropped ones now and then.
        if (prng.int32(gen, 0, 9) === 0) for (const cl of clients) if (cl.peer?.closeEvent) connect(cl);
        await new Promise((r) => setTimeout(r, prng.int32(gen, 0, 4)));
      }
      clients.forEach(connect);
      const expected = (): string => clients[0]!.doc.getText('t').toString();
      await eventually(() => {
        for (const c of clients) if (c.peer?.closeEvent) connect(c);
        const texts = clients.map((c) => c.doc.getText('t').toString());
        expect(new Set(texts).size, `seed ${SEED}: clients differ`).toBe(1);
        // Key order of a Y.Map depends on arrival order, so compare sorted entries.
        const maps = clients.map((c) => JSON.stringify(Object.entries(c.doc.getMap('m').toJSON()).sort()));
        expect(new Set(maps).size, `seed ${SEED}: maps differ`).toBe(1);
        expect(server.registry.get('conv')?.doc.getText('t').toString()).toBe(expected());
      }, 20_000);

      // What the store holds after a clean shutdown equals what every client has.
      for (const c of clients) disconnect(c);
      await server.drain();
      server = await startTestServer({ ...config, port });
      const reloaded = await storedDoc(server.store, 'conv');
      expect(reloaded.getText('t').toString(), `seed ${SEED}: store differs`).toBe(expected());
      expect(reloaded.getMap('m').toJSON()).toEqual(clients[0]!.doc.getMap('m').toJSON());
    } finally {
      for (const c of clients) {
        c.provider?.destroy();
        c.peer?.terminate();
      }
      await server.drain();
    }
  }, 90_000);
});
