import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryBusHub } from '../src/bus/memory-bus.js';
import { RedisBus } from '../src/bus/redis-bus.js';
import type { ConfigInput } from '../src/ops/config.js';
import type { TandemServer } from '../src/server.js';
import { MemoryStore } from '../src/storage/memory/memory-store.js';
import type { Store } from '../src/storage/store.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { api, SECRET, token } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { dropSchemas, freshSchema, needPostgres, TEST_DATABASE_URL } from './support/postgres.js';
import { needRedis, redisReachable, TEST_REDIS_URL } from './support/redis.js';
import { startTestServer } from './support/server.js';
import { SseClient } from './support/sse.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

const join = async (server: TandemServer, room: string): Promise<TestPeer> => {
  const peer = await connectPeer(`${server.syncUrl}/${room}`);
  await eventually(() => expect(peer.synced).toBe(true));
  return peer;
};
/** Pushes `count` items to the peer's `log` array, one update each, and waits for every ack. */
const writeAcked = async (peer: TestPeer, prefix: string, count: number): Promise<string[]> => {
  const items = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  for (const item of items) {
    peer.doc.getArray<string>('log').push([item]);
    await eventually(() => expect(peer.acked).toBe(peer.sent));
  }
  return items;
};
/** The room's `log` array as the store holds it now (snapshot and tail), read without any instance. */
const storedItems = async (store: Store, room: string): Promise<string[]> => {
  const stored = await store.loadRoom(room);
  const doc = new Y.Doc();
  for (const update of [stored?.snapshot, ...(stored?.updates ?? [])]) if (update) Y.applyUpdate(doc, update);
  return doc.getArray<string>('log').toArray();
};
const type = (peer: TestPeer, text: string): void => {
  const t = peer.doc.getText('t');
  t.insert(t.length, text);
};

describe('two instances on one store (MemoryBus)', () => {
  async function pair(busCheckMs = 5_000): Promise<{ hub: MemoryBusHub; a: TandemServer; b: TandemServer }> {
    const store = new MemoryStore();
    const hub = new MemoryBusHub();
    const a = await startTestServer({ busCheckMs }, { store, bus: hub.connect() });
    const b = await startTestServer({ busCheckMs }, { store, bus: hub.connect() });
    return { hub, a, b };
  }

  it('edits, presence and events made on one instance reach the peers of the other', async () => {
    const { a, b } = await pair();
    const onA = await join(a, 'shared');
    const onB = await join(b, 'shared');
    type(onA, 'from A;');
    type(onB, 'from B;');
    await eventually(() => expect(onA.text).toBe(onB.text));
    expect(onA.text).toHaveLength('from A;from B;'.length);
    onA.awareness.setLocalStateField('user', { name: 'Ada on A' });
    await eventually(() =>
      expect([...onB.awareness.getStates().values()].map((s) => s.user?.name)).toContain('Ada on A'),
    );
    const streamOnB = new SseClient(`${b.httpUrl}/v1/rooms/shared/events/stream`);
    try {
      await eventually(() => expect(streamOnB.status).toBe(200));
      await api(a.httpUrl, 'POST', '/v1/rooms/shared/events', { body: { type: 'note', data: { n: 1 } } });
      await eventually(() =>
        expect(onB.received.some((m) => m.type === 'event' && m.event.type === 'note')).toBe(true),
      );
      // An event stream on the other instance gets it live too.
      await eventually(() => expect(streamOnB.events.map((e) => e.event)).toContain('note'));
    } finally {
      streamOnB.close();
    }
  });

  it('deleting a room or removing a collaborator on one instance closes the affected peers on the other', async () => {
    const store = new MemoryStore();
    const hub = new MemoryBusHub();
    const config = { jwtSecret: SECRET };
    const a = await startTestServer(config, { store, bus: hub.connect() });
    const b = await startTestServer(config, { store, bus: hub.connect() });
    const olga = await token('olga', { rooms: { 'c/*': 'owner' } });
    const bob = await token('bob', { rooms: { elsewhere: 'viewer' } });
    const ownerOnA = await connectPeer(`${a.syncUrl}/c/doc`, { headers: { authorization: `Bearer ${olga}` } });
    type(ownerOnA, 'content');
    await eventually(() => expect(ownerOnA.acked).toBe(ownerOnA.sent));
    expect(
      await api(a.httpUrl, 'PUT', '/v1/rooms/c%2Fdoc/collaborators/bob', { token: olga, body: { role: 'editor' } }),
    ).toMatchObject({
      status: 200,
    });
    const bobOnB = await connectPeer(`${b.syncUrl}/c/doc`, { headers: { authorization: `Bearer ${bob}` } });
    await eventually(() => expect(bobOnB.text).toBe('content'));
    expect((await api(a.httpUrl, 'DELETE', '/v1/rooms/c%2Fdoc/collaborators/bob', { token: olga })).status).toBe(204);
    expect((await bobOnB.closed).code).toBe(4403);

    const ownerOnB = await connectPeer(`${b.syncUrl}/c/doc`, { headers: { authorization: `Bearer ${olga}` } });
    await eventually(() => expect(ownerOnB.text).toBe('content'));
    expect((await api(a.httpUrl, 'DELETE', '/v1/rooms/c%2Fdoc', { token: olga })).status).toBe(204);
    expect((await ownerOnB.closed).code).toBe(4410);
    expect((await ownerOnA.closed).code).toBe(4410);
  });

  it('a lost last message is healed by the periodic check against the store', async () => {
    const { hub, a, b } = await pair(200);
    const onA = await join(a, 'lossy');
    const onB = await join(b, 'lossy');
    type(onA, 'seen;');
    await eventually(() => expect(onB.text).toBe('seen;'));
    hub.dropNext = 1; // the next update publish is lost; nothing after it reveals a gap
    type(onA, 'lost;');
    await eventually(() => expect(onA.acked).toBe(onA.sent));
    await eventually(() => expect(onB.text).toBe('seen;lost;'), 3_000);
  });

  it('lost messages already folded into a snapshot are read back with the whole room', async () => {
    const store = new MemoryStore();
    const hub = new MemoryBusHub();
    const config = { busCheckMs: 200, compactAfterUpdates: 2 };
    const a = await startTestServer(config, { store, bus: hub.connect() });
    const b = await startTestServer(config, { store, bus: hub.connect() });
    const onA = await join(a, 'folded');
    const onB = await join(b, 'folded');
    type(onA, 'seen;');
    await eventually(() => expect(onB.text).toBe('seen;'));
    hub.dropNext = 3;
    for (const text of ['x;', 'y;', 'z;']) {
      type(onA, text);
      await eventually(() => expect(onA.acked).toBe(onA.sent));
    }
    // B's position is behind the snapshot now: the log alone no longer holds what it missed.
    await eventually(async () => expect((await store.loadRoom('folded'))?.snapshotSeq).toBeGreaterThan(1));
    expect(await store.loadTail('folded', 1)).toBeNull();
    await eventually(() => expect(onB.text).toBe('seen;x;y;z;'), 3_000);
  });

  it('with the bus down, instances keep acking their own clients and converge by polling the store', async () => {
    const { hub, a, b } = await pair(60_000);
    const onA = await join(a, 'outage');
    const onB = await join(b, 'outage');
    hub.down = true;
    type(onA, 'A;');
    type(onB, 'B;');
    await eventually(() => expect(onA.acked).toBe(onA.sent));
    await eventually(() => expect(onB.acked).toBe(onB.sent));
    // The regular check is a minute away: only polling while disconnected can bring them together.
    await eventually(() => expect(onA.text).toBe(onB.text), 5_000);
    expect(onA.text).toHaveLength(4);
  });

  it('a compaction never folds away acked updates of the other instance still held on a frozen bus', async () => {
    const store = new MemoryStore();
    const hub = new MemoryBusHub();
    const config = { busCheckMs: 60_000, compactAfterUpdates: 3, unloadDelayMs: 0 };
    const a = await startTestServer(config, { store, bus: hub.connect() });
    const b = await startTestServer(config, { store, bus: hub.connect() });
    const onA = await join(a, 'frozen');
    const onB = await join(b, 'frozen');
    hub.freeze(); // like SIGSTOP on Redis: both buses still say connected
    const acked = await writeAcked(onB, 'b', 6); // the lower seqs, committed by B, unseen by A
    acked.push(...(await writeAcked(onA, 'a', 6)));
    // A unloads the room once its last peer leaves, compacting first: the one moment A folds for sure.
    await onA.close();
    await eventually(() => expect(a.registry.get('frozen')).toBeUndefined());
    expect(await storedItems(store, 'frozen')).toEqual(expect.arrayContaining(acked));
    hub.thaw();
    await eventually(() => expect(onB.doc.getArray('log').length).toBe(acked.length));
    await onB.close();
    await eventually(() => expect(b.registry.get('frozen')).toBeUndefined());
    expect((await storedItems(store, 'frozen')).sort()).toEqual(acked.sort());
  });

  it('a gap in the seqs is filled from the store at once', async () => {
    const { hub, a, b } = await pair(60_000);
    const onA = await join(a, 'gap');
    const onB = await join(b, 'gap');
    type(onA, '1;');
    await eventually(() => expect(onB.text).toBe('1;'));
    hub.dropNext = 1;
    type(onA, '2;');
    await eventually(() => expect(onA.acked).toBe(onA.sent));
    type(onA, '3;');
    // The check is a minute away: only the gap (seq 3 after 1) can have found the lost update.
    await eventually(() => expect(onB.text).toBe('1;2;3;'), 3_000);
  });
});

const withServices = (await needPostgres('the Redis bus suites')) && (await needRedis('the Redis bus suites'));
// The restart test runs a Redis of its own: it needs the redis-server binary, not just a reachable Redis.
const redisServerInstalled = process.env.CI === 'true' || spawnSync('redis-server', ['--version']).status === 0;
if (!redisServerInstalled) {
  // eslint-disable-next-line no-console -- a skipped test must be impossible to miss
  console.warn('\n!!! SKIPPING the Redis restart test: no redis-server binary on PATH\n');
}
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

describe.runIf(withServices)('two instances on PostgreSQL and Redis', () => {
  it('Redis is reachable (CI runs this suite against its service)', async () => {
    expect(await redisReachable()).toBe(true);
  });

  async function pair(
    config: ConfigInput = { busCheckMs: 500 },
  ): Promise<{ a: TandemServer; b: TandemServer; schema: string }> {
    const schema = freshSchema();
    schemas.push(schema);
    const start = async () =>
      startTestServer(config, {
        store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }),
        bus: new RedisBus({ url: TEST_REDIS_URL, channel: `tandem-test-${schema}` }),
      });
    const a = await start();
    const b = await start();
    return { a, b, schema };
  }

  it('converge through Redis; a killed subscription keeps acks flowing and heals', async () => {
    const { a, b } = await pair();
    const onA = await join(a, 'redis-room');
    const onB = await join(b, 'redis-room');
    type(onA, 'a1;');
    await eventually(() => expect(onB.text).toBe('a1;'));
    const admin = new Redis(TEST_REDIS_URL);
    try {
      // Every pub/sub connection is cut, as a Redis failover does.
      await admin.client('KILL', 'TYPE', 'pubsub');
      type(onA, 'a2;');
      type(onB, 'b1;');
      // Each instance still acks its own clients: the store, not Redis, is what an ack waits for.
      await eventually(() => expect(onA.acked).toBe(onA.sent));
      await eventually(() => expect(onB.acked).toBe(onB.sent));
      await eventually(() => expect(onA.text).toBe(onB.text), 10_000);
      expect(onA.text).toHaveLength('a1;a2;b1;'.length);
    } finally {
      admin.disconnect();
    }
  });

  it('Redis paused, then flushed: acks keep flowing for each instance, and all converge afterwards', async () => {
    const { a, b } = await pair();
    const onA = await join(a, 'paused');
    const onB = await join(b, 'paused');
    const admin = new Redis(TEST_REDIS_URL);
    try {
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      type(onA, 'during-pause-A;');
      type(onB, 'during-pause-B;');
      await eventually(() => expect(onA.acked).toBe(onA.sent));
      await eventually(() => expect(onB.acked).toBe(onB.sent));
      await new Promise((r) => setTimeout(r, 1_600));
      await admin.flushall();
      type(onA, 'after;');
      await eventually(() => expect(onA.text).toBe(onB.text), 10_000);
      expect(onA.text).toHaveLength('during-pause-A;during-pause-B;after;'.length);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });

  it('Redis frozen: a compaction on one instance keeps the acked updates it has not received', async () => {
    const { a, b, schema } = await pair({ busCheckMs: 60_000, compactAfterUpdates: 3, unloadDelayMs: 0 });
    const onA = await join(a, 'frozen');
    const onB = await join(b, 'frozen');
    const admin = new Redis(TEST_REDIS_URL);
    const reader = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    try {
      // Every command waits, publishes included, while connections stay up: a frozen Redis, for 5 s
      // (UNPAUSE would wait for the pause too). The writes and the unload below take well under that.
      await admin.call('CLIENT', 'PAUSE', '5000', 'ALL');
      const acked = await writeAcked(onB, 'b', 6); // the lower seqs, committed by B, unseen by A
      acked.push(...(await writeAcked(onA, 'a', 6)));
      await onA.close(); // A compacts the room before unloading it
      await eventually(() => expect(a.registry.get('frozen')).toBeUndefined());
      expect(await storedItems(reader, 'frozen')).toEqual(expect.arrayContaining(acked));
      await eventually(() => expect(onB.doc.getArray('log').length).toBe(acked.length), 10_000);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
      await reader.close();
    }
  });

  it('Redis frozen: noticed within its timeout, said by /readyz and /metrics, rooms converge from the store', async () => {
    const { a, b } = await pair({ busCheckMs: 60_000, busTimeoutMs: 300 });
    const onA = await join(a, 'stalled');
    const onB = await join(b, 'stalled');
    type(onA, 'before;');
    await eventually(() => expect(onB.text).toBe('before;'));
    const busMetric = async (server: TandemServer): Promise<string | undefined> =>
      /^tandem_bus_connected (\d)$/m.exec(await (await fetch(`${server.httpUrl}/metrics`)).text())?.[1];
    expect(await busMetric(b)).toBe('1');
    const admin = new Redis(TEST_REDIS_URL);
    try {
      await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
      const frozenAt = Date.now();
      type(onA, 'during;'); // only A writes: with the bus frozen, B can learn of it only from the store
      await eventually(async () => {
        expect(await api(b.httpUrl, 'GET', '/readyz')).toMatchObject({
          status: 200,
          body: { status: 'ready', bus: 'down' },
        });
      }, 3_000);
      expect(await busMetric(b)).toBe('0');
      await eventually(() => expect(onB.text).toBe('before;during;'), 3_000);
      expect(Date.now() - frozenAt, 'converged while Redis was still frozen').toBeLessThan(3_500);
      // Redis answers again after the pause: the bus is back, and says so.
      await eventually(async () => expect(await busMetric(b)).toBe('1'), 8_000);
      expect((await api(b.httpUrl, 'GET', '/readyz')).body).toEqual({ status: 'ready' });
      type(onB, 'after;');
      await eventually(() => expect(onA.text).toBe('before;during;after;'));
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });

  it('webhooks: two instances deliver every event once, and the other takes over when the deliverer stops', async () => {
    const received: string[] = [];
    const hook = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const { type, data } = JSON.parse(body) as { type: string; data: { n?: number } };
        if (type === 'note') received.push(`note-${data.n}`);
        res.writeHead(204).end();
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    const schema = freshSchema();
    schemas.push(schema);
    const start = () =>
      startTestServer(
        { busCheckMs: 500, webhookUrl: [url], webhookSecret: 'w'.repeat(32) },
        {
          store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }),
          bus: new RedisBus({ url: TEST_REDIS_URL, channel: `tandem-test-${schema}` }),
          webhookOptions: { leaseRetryMs: 200, retryBaseMs: 50 },
        },
      );
    const a = await start();
    const b = await start();
    const note = (server: TandemServer, n: number) =>
      api(server.httpUrl, 'POST', '/v1/rooms/hooked/events', { body: { type: 'note', data: { n } } });
    try {
      expect([a, b].filter((s) => s.webhooks!.delivering)).toHaveLength(1);
      // The waiting instance asks again every 200 ms on the connection it already has, not a new one each time.
      const leaseBackends = async (): Promise<number[]> => {
        const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await admin.connect();
        try {
          const { rows } = await admin.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'tandem-lease' ORDER BY pid",
          );
          return rows.map((r) => r.pid);
        } finally {
          await admin.end();
        }
      };
      const before = await leaseBackends();
      await new Promise((r) => setTimeout(r, 700));
      expect(before).toHaveLength(2);
      expect(await leaseBackends()).toEqual(before);
      for (let n = 1; n <= 6; n++) await note(n % 2 ? a : b, n);
      await eventually(() => expect(received).toHaveLength(6));
      // The lease's connection dies (as with a network cut): the holder stops, one of them takes over.
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      try {
        const killed = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tandem-lease'",
        );
        expect(killed.rowCount).toBeGreaterThanOrEqual(1);
      } finally {
        await admin.end();
      }
      // Past a few lease retries (200 ms): a holder that missed its loss would deliver beside the new one.
      await new Promise((r) => setTimeout(r, 800));
      expect([a, b].filter((s) => s.webhooks!.delivering)).toHaveLength(1);
      for (let n = 7; n <= 8; n++) await note(n % 2 ? a : b, n);
      await eventually(() => expect(received).toHaveLength(8), 10_000);
      // The one delivering stops; the other takes the lease and goes on from the shared cursor.
      const [deliverer, other] = a.webhooks!.delivering ? [a, b] : [b, a];
      await deliverer.drain();
      for (let n = 9; n <= 10; n++) await note(other, n);
      await eventually(() => expect(received).toHaveLength(10), 10_000);
      expect(other.webhooks!.delivering).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect([...received].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `note-${i + 1}`).sort());
    } finally {
      hook.close();
    }
  });

  it.runIf(redisServerInstalled)(
    'Redis restarted: acks flow while it is down, instances converge by polling, and the bus comes back',
    async () => {
      // A Redis of its own: restarting the shared one would cut the other suites' connections.
      const port = await freePort();
      const url = `redis://127.0.0.1:${port}`;
      let redis = await startRedis(port);
      const schema = freshSchema();
      schemas.push(schema);
      const buses = [new RedisBus({ url, channel: 'restart' }), new RedisBus({ url, channel: 'restart' })];
      const [a, b] = await Promise.all(
        buses.map((bus) =>
          startTestServer(
            { busCheckMs: 500 },
            { store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }), bus },
          ),
        ),
      );
      try {
        const onA = await join(a!, 'restart');
        const onB = await join(b!, 'restart');
        type(onA, 'before;');
        await eventually(() => expect(onB.text).toBe('before;'));

        redis.kill('SIGKILL');
        await once(redis, 'exit');
        await eventually(() => expect(buses.some((bus) => bus.connected)).toBe(false));
        type(onA, 'downA;');
        type(onB, 'downB;');
        await eventually(() => expect(onA.acked).toBe(onA.sent));
        await eventually(() => expect(onB.acked).toBe(onB.sent));
        // Without Redis the instances poll the store every second.
        await eventually(() => expect(onA.text).toBe(onB.text), 10_000);
        expect(onA.text).toHaveLength('before;downA;downB;'.length);

        redis = await startRedis(port);
        await eventually(() => expect(buses.every((bus) => bus.connected)).toBe(true), 15_000);
        // Presence travels only over the bus (the store has none): seeing it proves the bus is back.
        onA.awareness.setLocalStateField('user', { name: 'after the restart' });
        await eventually(
          () => expect([...onB.awareness.getStates().values()].map((s) => s.user?.name)).toContain('after the restart'),
          10_000,
        );
        type(onB, 'after;');
        await eventually(() => expect(onA.text).toBe(onB.text), 10_000);
        expect(onA.text).toHaveLength('before;downA;downB;after;'.length);
      } finally {
        redis.kill('SIGKILL');
      }
    },
    60_000,
  );
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  child.on('error', () => undefined);
  const probe = new Redis(`redis://127.0.0.1:${port}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await eventually(async () => {
      if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
      expect(await probe.ping().catch(() => null)).toBe('PONG');
    }, 10_000);
  } finally {
    probe.disconnect();
  }
  return child;
}
