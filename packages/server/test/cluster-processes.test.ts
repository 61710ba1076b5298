import * as prng from 'lib0/prng';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { afterThisTest } from './support/cleanup.js';
import { spawnServer, type ChildServer } from './support/child-server.js';
import { eventually } from './support/eventually.js';
import { dropSchemas, freshSchema, needPostgres, TEST_DATABASE_URL } from './support/postgres.js';
import { needRedis, TEST_REDIS_URL } from './support/redis.js';
import { docFromStored } from './support/stored-doc.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

const run =
  (await needPostgres('the multi-process cluster suite')) && (await needRedis('the multi-process cluster suite'));
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

/** A client that, when its connection drops, reconnects to another instance with the same document. */
class RoamingClient {
  peer: TestPeer | null = null;
  constructor(readonly doc: Y.Doc) {}
  async connect(url: string): Promise<void> {
    this.peer = await connectPeer(url, { doc: this.doc });
    await eventually(() => expect(this.peer!.synced).toBe(true));
  }
  async close(): Promise<void> {
    await this.peer?.close().catch(() => undefined);
    this.peer = null;
  }
}

describe.runIf(run)('three Tandem processes on PostgreSQL and Redis', () => {
  async function cluster(n: number): Promise<{ schema: string; servers: ChildServer[] }> {
    const schema = freshSchema();
    schemas.push(schema);
    const args = [
      '--store',
      'postgres',
      '--database-url',
      TEST_DATABASE_URL,
      '--database-schema',
      schema,
      '--bus',
      'redis',
      '--redis-url',
      TEST_REDIS_URL,
      '--redis-channel',
      `tandem-test-${schema}`,
      '--bus-check-ms',
      '500',
    ];
    // One after the other: the first creates the schema, the others find it migrated.
    const servers: ChildServer[] = [];
    for (let i = 0; i < n; i++) {
      const server = await spawnServer(args);
      // Stopped gracefully when the test finishes (spawnServer's own cleanup would SIGKILL it).
      afterThisTest(async () => {
        server.child.kill('SIGTERM');
        await server.exited;
      });
      servers.push(server);
    }
    return { schema, servers };
  }

  async function stored(schema: string, room: string): Promise<string> {
    const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    try {
      return docFromStored(await store.loadRoom(room))
        .getText('t')
        .toString();
    } finally {
      await store.close();
    }
  }

  it('clients spread over three instances, seeded random edits and disconnects: all converge, and the store equals them', async () => {
    const { schema, servers } = await cluster(3);
    const gen = prng.create(20261202);
    const url = (i: number) => `${servers[i % servers.length]!.syncUrl}/spread`;
    const clients: RoamingClient[] = [];
    for (let i = 0; i < 6; i++) {
      const client = new RoamingClient(new Y.Doc());
      clients.push(client);
      await client.connect(url(i));
    }
    for (let round = 0; round < 40; round++) {
      const client = clients[prng.uint32(gen, 0, clients.length - 1)]!;
      if (prng.uint32(gen, 0, 9) === 0) {
        // Drop and come back on a random instance, with what it typed meanwhile.
        await client.close();
        client.doc.getText('t').insert(0, prng.word(gen, 1, 3));
        await client.connect(url(prng.uint32(gen, 0, 2)));
        continue;
      }
      const text = client.doc.getText('t');
      text.insert(prng.uint32(gen, 0, text.length), prng.word(gen, 1, 4));
      await new Promise((r) => setTimeout(r, prng.uint32(gen, 0, 15)));
    }
    const expected = () => clients[0]!.doc.getText('t').toString();
    await eventually(() => {
      for (const c of clients) expect(c.doc.getText('t').toString()).toBe(expected());
    }, 15_000);
    for (const c of clients) await eventually(() => expect(c.peer!.acked).toBe(c.peer!.sent));
    expect(expected().length).toBeGreaterThan(20);
    expect(await stored(schema, 'spread')).toBe(expected());
  });

  it('kill -9 of an instance mid-write: every acked update survives; its clients move on and all converge', async () => {
    const { schema, servers } = await cluster(2);
    const [victim, survivor] = servers as [ChildServer, ChildServer];
    const writers = [new RoamingClient(new Y.Doc()), new RoamingClient(new Y.Doc())];
    const watcher = new RoamingClient(new Y.Doc());
    for (const w of writers) await w.connect(`${victim.syncUrl}/crash`);
    await watcher.connect(`${survivor.syncUrl}/crash`);
    let typing = true;
    const typed = writers.map(async (w, i) => {
      for (let n = 0; typing; n++) {
        w.doc.getText('t').insert(w.doc.getText('t').length, `${i}.${n};`);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    await eventually(() => expect(writers.every((w) => (w.peer?.acked ?? 0) > 10)).toBe(true));
    victim.child.kill('SIGKILL');
    // What the victim acked, per writer, at the moment it died.
    const acked = writers.map((w) => w.peer!.sentUpdates.slice(0, w.peer!.acked));
    await victim.exited;
    typing = false;
    await Promise.all(typed);
    // Every acknowledged update is in the store: the store's state covers each one's clocks.
    const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    const db = docFromStored(await store.loadRoom('crash'));
    await store.close();
    const have = Y.decodeStateVector(Y.encodeStateVector(db));
    for (const updates of acked) {
      for (const update of updates) {
        for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVectorFromUpdate(update))) {
          expect(have.get(client) ?? 0).toBeGreaterThanOrEqual(clock);
        }
      }
    }
    // The writers reconnect to the other instance with everything they typed; all converge.
    for (const w of writers) {
      await w.close();
      await w.connect(`${survivor.syncUrl}/crash`);
    }
    const expected = () => writers[0]!.doc.getText('t').toString();
    await eventually(() => {
      for (const c of [...writers, watcher]) expect(c.doc.getText('t').toString()).toBe(expected());
    }, 15_000);
    for (const w of writers) await eventually(() => expect(w.peer!.acked).toBe(w.peer!.sent));
    expect(await stored(schema, 'crash')).toBe(expected());
  });

  it('presence of a killed instance’s clients is removed on the others within the 30 s presence timeout', async () => {
    const [victim, survivor] = (await cluster(2)).servers as [ChildServer, ChildServer];
    const onVictim = new RoamingClient(new Y.Doc());
    const watcher = new RoamingClient(new Y.Doc());
    await onVictim.connect(`${victim.syncUrl}/presence`);
    await watcher.connect(`${survivor.syncUrl}/presence`);
    // Clients time silent states out too and tell the server (y-websocket does): this one must not, so
    // what is measured is the server's own expiry.
    clearInterval((watcher.peer!.awareness as unknown as { _checkInterval: NodeJS.Timeout })._checkInterval);
    onVictim.peer!.awareness.setLocalStateField('user', { name: 'Ada on the victim' });
    const ghost = onVictim.peer!.awareness.clientID;
    // Asked of the server, not of the watcher's Awareness, which drops silent states after 30 s itself.
    const presentOnSurvivor = async (): Promise<boolean> => {
      const res = await fetch(`http://127.0.0.1:${survivor.port}/v1/rooms/presence/presence`);
      const body = (await res.json()) as { presence: { clientId: number }[] };
      return body.presence.some((p) => p.clientId === ghost);
    };
    await eventually(async () => expect(await presentOnSurvivor()).toBe(true));
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Nobody told the survivor this client left: only the timeout can remove it.
    expect(await presentOnSurvivor()).toBe(true);
    await eventually(async () => expect(await presentOnSurvivor()).toBe(false), 40_000);
    expect(Date.now() - killedAt).toBeLessThan(40_000);
  }, 60_000);
});
