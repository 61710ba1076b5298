import { describe, expect, it, onTestFinished } from 'vitest';
import * as Y from 'yjs';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { spawnServer, type ChildServer } from './support/child-server.js';
import { eventually } from './support/eventually.js';
import { dropSchemas, freshSchema, needPostgres, TEST_DATABASE_URL } from './support/postgres.js';
import { needRedis, TEST_REDIS_URL } from './support/redis.js';
import { docFromStored } from './support/stored-doc.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

const run = (await needPostgres('the cluster fault suite')) && (await needRedis('the cluster fault suite'));
const ROOM = 'faults';
const WRITE_EVERY_MS = 25;

/** Two `tandem serve` processes on one PostgreSQL schema and one Redis channel, each reached through a proxy. */
interface Cluster {
  pg: TcpProxy;
  redis: TcpProxy;
  schema: string;
  servers: (ChildServer | null)[];
  start(i: number): Promise<ChildServer>;
}

/**
 * A client typing unique items into a `Y.Array`, remembering which update number carried which item, so
 * that "acked" is exact. When its instance goes away it reconnects to the other one with the same
 * document (a stock client does the same through a load balancer).
 */
class Writer {
  peer: TestPeer | null = null;
  readonly doc = new Y.Doc();
  /** Items whose update the server acknowledged, over every connection this writer had. */
  readonly acked = new Set<string>();
  private pending = new Map<number, string>();
  private timer: NodeJS.Timeout | null = null;
  private n = 0;

  constructor(readonly name: string) {}

  async connect(url: string): Promise<void> {
    this.settle();
    this.pending = new Map();
    this.peer = await connectPeer(url, { doc: this.doc });
    onTestFinished(() => this.peer?.terminate());
    await eventually(() => expect(this.peer!.synced).toBe(true));
  }

  start(): void {
    this.timer = setInterval(() => {
      const peer = this.peer;
      if (!peer || peer.ws.readyState !== peer.ws.OPEN) return;
      const item = `${this.name}-${this.n++}`;
      this.doc.getArray<string>('log').push([item]);
      this.pending.set(peer.sent, item);
    }, WRITE_EVERY_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Moves what the current connection acked into `acked`. */
  settle(): void {
    if (!this.peer) return;
    for (const [seq, item] of this.pending) {
      if (seq <= this.peer.acked) {
        this.acked.add(item);
        this.pending.delete(seq);
      }
    }
  }

  get sent(): number {
    return this.n;
  }
}

interface Fault {
  name: string;
  /** How long the fault lasts while the writers keep writing. */
  lastsMs: number;
  inject(cluster: Cluster, writers: Writer[]): Promise<void>;
  heal(cluster: Cluster, writers: Writer[]): Promise<void>;
}

const faults: Fault[] = [
  {
    name: 'bus killed: every Redis connection cut, refused for 4 s',
    lastsMs: 4_000,
    inject: async ({ redis }) => {
      redis.refusing = true;
      redis.cut();
    },
    heal: async ({ redis }) => void (redis.refusing = false),
  },
  {
    name: 'bus frozen 20 s: connections up, nothing forwarded',
    lastsMs: 20_000,
    inject: async ({ redis }) => redis.freeze(),
    heal: async ({ redis }) => redis.thaw(),
  },
  {
    name: 'store connections terminated',
    lastsMs: 2_000,
    inject: async ({ pg }) => pg.cut(),
    heal: async () => undefined,
  },
  {
    name: 'store frozen 5 s',
    lastsMs: 5_000,
    inject: async ({ pg }) => pg.freeze(),
    heal: async ({ pg }) => pg.thaw(),
  },
  {
    name: 'store stopped 5 s: connections cut and refused',
    lastsMs: 5_000,
    inject: async ({ pg }) => {
      pg.refusing = true;
      pg.cut();
    },
    heal: async ({ pg }) => void (pg.refusing = false),
  },
  {
    name: 'one instance killed -9, its clients move to the other, and it is restarted',
    lastsMs: 3_000,
    inject: async (cluster, writers) => {
      const victim = cluster.servers[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      cluster.servers[0] = null;
      const survivor = cluster.servers[1]!;
      for (const w of writers.filter((w) => w.peer?.ws.readyState !== w.peer?.ws.OPEN)) {
        await w.connect(`${survivor.syncUrl}/${ROOM}`);
      }
    },
    heal: async (cluster) => void (await cluster.start(0)),
  },
];

async function startCluster(): Promise<Cluster> {
  const schema = freshSchema();
  onTestFinished(() => dropSchemas([schema]));
  const pgUrl = new URL(TEST_DATABASE_URL);
  const redisUrl = new URL(TEST_REDIS_URL);
  const pg = await TcpProxy.start({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  const redis = await TcpProxy.start({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  onTestFinished(async () => {
    await Promise.all([pg.close(), redis.close()]);
  });
  const viaPg = new URL(TEST_DATABASE_URL);
  viaPg.host = `127.0.0.1:${pg.port}`;
  const args = [
    ['--store', 'postgres', '--database-url', viaPg.toString(), '--database-schema', schema],
    ['--bus', 'redis', '--redis-url', `redis://127.0.0.1:${redis.port}`, '--redis-channel', `tandem-test-${schema}`],
    // Compactions every few updates: each one is a chance to fold away what the other instance committed.
    ['--bus-check-ms', '2000', '--bus-timeout-ms', '1000', '--compact-after-updates', '20'],
  ].flat();
  const cluster: Cluster = {
    pg,
    redis,
    schema,
    servers: [null, null],
    async start(i) {
      const server = await spawnServer(args);
      onTestFinished(() => void server.child.kill('SIGKILL'));
      cluster.servers[i] = server;
      return server;
    },
  };
  // One after the other: the first migrates the schema.
  await cluster.start(0);
  await cluster.start(1);
  return cluster;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The promise the cluster makes under any single fault: an acknowledged update is in the store, and
 * afterwards every instance and every client holds the same document. Each scenario prints its numbers.
 */
describe.runIf(run)('cluster fault suite: two instances on PostgreSQL and Redis', () => {
  it.each(faults.map((f) => [f.name, f] as const))(
    '%s: every acked update stored, all converge',
    { timeout: 120_000 },
    async (_name, fault) => {
      const cluster = await startCluster();
      const writers: Writer[] = [];
      for (let i = 0; i < 4; i++) {
        const w = new Writer(`w${i}`);
        await w.connect(`${cluster.servers[i % 2]!.syncUrl}/${ROOM}`);
        writers.push(w);
      }
      for (const w of writers) w.start();
      await sleep(1_500);
      await fault.inject(cluster, writers);
      await sleep(fault.lastsMs);
      await fault.heal(cluster, writers);
      await sleep(1_500);
      for (const w of writers) w.stop();
      const stoppedAt = Date.now();
      // Every update written is acked in the end: the store took it once it was reachable again.
      for (const w of writers) {
        await eventually(() => expect(w.peer!.acked).toBe(w.peer!.sent), 30_000);
        w.settle();
      }
      const acked = writers.flatMap((w) => [...w.acked]);
      const sent = writers.reduce((n, w) => n + w.sent, 0);

      const reader = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema: cluster.schema });
      const storedItems = docFromStored(await reader.loadRoom(ROOM).finally(() => reader.close()))
        .getArray<string>('log')
        .toArray();
      const stored = new Set(storedItems);
      const missing = acked.filter((item) => !stored.has(item));
      expect(missing, 'acked but not in the store').toEqual([]);
      expect(storedItems.length, 'an item stored twice').toBe(stored.size);

      // Every instance serves the stored document, and every client holds it.
      for (const server of cluster.servers) {
        const check = await connectPeer(`${server!.syncUrl}/${ROOM}`, { tandem: false, doc: new Y.Doc() });
        onTestFinished(() => check.terminate());
        await eventually(() => expect(check.doc.getArray('log').length).toBe(stored.size), 15_000);
      }
      for (const w of writers) {
        await eventually(() => expect(w.doc.getArray('log').length).toBe(stored.size), 15_000);
      }
      const convergedMs = Date.now() - stoppedAt;
      process.stdout.write(
        `fault "${fault.name}": sent ${sent}, acked ${acked.length}, stored ${stored.size}, ` +
          `acked missing ${missing.length}, all acked and converged ${convergedMs} ms after the writers stopped\n`,
      );
      expect(acked.length).toBeGreaterThan(0);
    },
  );
});
