import * as prng from 'lib0/prng';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../../server/src/server.js';
import { SECRET, token } from '../../server/test/support/auth.js';
import { spawnServer, type ChildServer } from '../../server/test/support/child-server.js';
import { ControllableStore } from '../../server/test/support/controllable-store.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer, tempDir } from '../../server/test/support/server.js';
import { stockProvider } from '../../server/test/support/stock-provider.js';
import type { ConnectionStatus, TandemProvider } from '../src/index.js';
import { provider } from './support.js';

describe('TandemProvider', () => {
  let server: TandemServer | null = null;
  const open = (room: string, options: Parameters<typeof provider>[2] = {}): TandemProvider => {
    const p = provider(server!.syncUrl, room, options);
    return p;
  };
  const statuses = (p: TandemProvider): ConnectionStatus[] => {
    const seen: ConnectionStatus[] = [p.status];
    p.on('status', (s) => seen.push(s));
    return seen;
  };

  it('goes connecting → live, syncs, and reports saved only after the durable ack', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    const p = open('save');
    const seen = statuses(p);
    await p.whenSynced();
    expect(p.status).toBe('live');
    expect(seen).toEqual(['connecting', 'live']);
    await p.whenSaved();
    store.hold();
    p.doc!.getText('t').insert(0, 'held in the store');
    await eventually(() => expect(server!.registry.get('save')?.doc.getText('t').toString()).toBe('held in the store'));
    // Applied and broadcast on the server, but not committed: not saved.
    expect(p.saveState).toBe('saving');
    expect(p.pendingUpdates).toBe(1);
    store.release();
    await p.whenSaved();
    expect(p.saveState).toBe('saved');
    expect(p.lastSavedAt).not.toBeNull();
  });

  it('survives kill -9: unsaved while the server is down, every keystroke stored after the restart, then saved', async () => {
    const dir = tempDir('tandem-client-crash-');
    let child: ChildServer = await spawnServer(['--data-dir', dir.dir]);
    const port = child.port;
    const p = provider(child.syncUrl, 'crash');
    await p.whenSynced();
    const text = p.doc!.getText('t');
    let typed = '';
    const type = (): void => {
      const c = String.fromCharCode(97 + (typed.length % 26));
      text.insert(text.length, c);
      typed += c;
    };
    for (let i = 0; i < 20; i++) type();
    child.child.kill('SIGKILL');
    await child.exited;
    await eventually(() => expect(p.status).not.toBe('live'));
    for (let i = 0; i < 20; i++) type(); // typed while the server is down
    expect(p.saveState).not.toBe('saved');
    await new Promise((r) => setTimeout(r, 300));
    expect(p.saveState).not.toBe('saved');

    child = await spawnServer(['--data-dir', dir.dir, '--port', String(port)]);
    await eventually(() => expect(p.status).toBe('live'), 15_000);
    await p.whenSaved();
    expect(p.saveState).toBe('saved');
    // What the restarted server has is what was typed: read it with a fresh client.
    const reader = provider(child.syncUrl, 'crash');
    await reader.whenSynced();
    expect(reader.doc!.getText('t').toString()).toBe(typed);
  });

  it('connect() called again while the token is being fetched opens one socket, not two', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    let calls = 0;
    const p = open('twice', {
      token: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 50));
        return token('ada');
      },
    });
    p.connect();
    p.connect();
    await p.whenSynced();
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toBe(1);
    expect(server.registry.get('twice')!.peerCount).toBe(1);
  });

  it('4403 is final: status failed and no further attempts', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const refusals = async (): Promise<number> =>
      (await server!.metrics.refusals.get()).values.find((v) => v.labels.reason === 'forbidden')?.value ?? 0;
    const viewerOfOther = await token('eve', { rooms: { 'other/*': 'editor' } });
    const p = open('secret', { token: viewerOfOther });
    await eventually(() => expect(p.status).toBe('failed'));
    expect(p.getDiagnostics().lastClose?.code).toBe(4403);
    const after = await refusals();
    expect(after).toBe(1);
    await new Promise((r) => setTimeout(r, 500)); // several backoff steps of this provider's schedule
    expect(await refusals()).toBe(after);
  });

  it('4401: asks its token function exactly once more, then fails', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    let calls = 0;
    const p = open('auth', {
      token: () => {
        calls++;
        return 'not-a-valid-token';
      },
    });
    await eventually(() => expect(p.status).toBe('failed'));
    expect(calls).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(2);
  });

  it('refreshes its token in-band before expiry and keeps the same socket', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    let calls = 0;
    const p = open('refresh', {
      token: () => {
        calls++;
        return token('ada', { ttl: '3s' });
      },
    });
    await p.whenSynced();
    const connections = server.metrics.connections;
    const opened = (await connections.get()).values[0]?.value;
    // Past the first token's expiry: the socket is still the first one, and edits are saved.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(p.status).toBe('live');
    expect(p.getDiagnostics().reconnects).toBe(0);
    expect((await connections.get()).values[0]?.value).toBe(opened);
    p.doc!.getText('t').insert(0, 'still here');
    await p.whenSaved();
  }, 15_000);

  it('closed with 4401 (a refreshed token the server refused), it reconnects with a fresh token from the function', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const handed: string[] = [];
    const p = open('expiry', {
      token: async () => {
        // The second call is the in-band refresh: hand out something the server refuses.
        const t = handed.length === 1 ? 'refused.by.server' : await token('ada', { ttl: '2s' });
        handed.push(t);
        return t;
      },
    });
    await p.whenSynced();
    await eventually(() => expect(p.getDiagnostics().lastClose?.code).toBe(4401), 5_000);
    await eventually(() => expect(p.status).toBe('live'), 5_000);
    expect(handed.length).toBeGreaterThanOrEqual(3);
    expect(p.getDiagnostics().reconnects).toBe(1);
    p.doc!.getText('t').insert(0, 'after a fresh token');
    await p.whenSaved();
  }, 15_000);

  it('two TandemProviders and a stock WebsocketProvider converge under random edits and disconnects (seeded)', async () => {
    server = await startTestServer();
    const seed = 1234;
    const gen = prng.create(seed);
    const a = open('mix');
    const b = open('mix');
    const stock = stockProvider(server.syncUrl, 'mix');
    const docs = [a.doc!, b.doc!, stock.doc];
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    for (let round = 0; round < 30; round++) {
      const i = prng.int32(gen, 0, 2);
      const text = docs[i]!.getText('t');
      text.insert(prng.int32(gen, 0, text.length), prng.word(gen, 1, 4));
      if (prng.bool(gen) && text.length > 2) text.delete(prng.int32(gen, 0, text.length - 2), 1);
      if (prng.int32(gen, 0, 9) === 0) {
        const target = [a, b][prng.int32(gen, 0, 1)]!;
        target.disconnect();
        await new Promise((r) => setTimeout(r, prng.int32(gen, 5, 50)));
        target.connect();
      }
      await new Promise((r) => setTimeout(r, prng.int32(gen, 0, 10)));
    }
    await Promise.all([a.whenSaved(), b.whenSaved()]);
    await eventually(() => {
      const texts = docs.map((d) => d.getText('t').toString());
      expect(new Set(texts).size, `seed ${seed}`).toBe(1);
      expect(server!.registry.get('mix')!.doc.getText('t').toString()).toBe(texts[0]);
    });
    expect(Y.encodeStateVector(docs[0]!)).toEqual(Y.encodeStateVector(docs[1]!));
  });
});
