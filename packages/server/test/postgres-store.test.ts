import pg from 'pg';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { READY_DEADLINE_MS } from '../src/http/routes/health.js';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { dropSchemas, freshSchema, needPostgres, postgresReachable, TEST_DATABASE_URL } from './support/postgres.js';
import { storeConformance } from './support/store-conformance.js';
import { docFromStored } from './support/stored-doc.js';
import { textUpdate } from './support/text-update.js';
import { api } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { connectPeer } from './support/test-peer.js';
import * as Y from 'yjs';

const run = await needPostgres('the PostgresStore suites');
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

describe.runIf(run)('PostgresStore', () => {
  it('PostgreSQL is reachable (CI runs this suite against its service)', async () => {
    expect(await postgresReachable()).toBe(true);
  });

  let current: string | null = null;
  storeConformance('PostgresStore', {
    async create() {
      current = freshSchema();
      schemas.push(current);
      const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema: current });
      await store.whenReady();
      return store;
    },
    async reopen() {
      const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema: current! });
      await store.whenReady();
      return store;
    },
    async openAnother() {
      const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema: current! });
      await store.whenReady();
      return store;
    },
  });

  it('migrations are idempotent and two instances starting together take turns', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const stores = [1, 2, 3].map(() => new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }));
    await Promise.all(stores.map((s) => s.whenReady()));
    await stores[0]!.appendUpdate('r', textUpdate('a', 1));
    expect(await stores[1]!.loadRoom('r')).toMatchObject({ lastSeq: 1 });
    await Promise.all(stores.map((s) => s.close()));
  });

  it('two instances appending to one room get gap-free seqs in commit order', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const a = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    const b = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    await Promise.all([a.whenReady(), b.whenReady()]);
    const seqs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).appendUpdate('shared', textUpdate(`u${i}`, i + 1))),
    );
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const loaded = await a.loadRoom('shared');
    expect(loaded?.updates).toHaveLength(40);
    expect(loaded?.lastSeq).toBe(40);
    await Promise.all([a.close(), b.close()]);
  });

  it('two instances writing the same rooms in opposite orders never deadlock', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const a = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    const b = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    await Promise.all([a.whenReady(), b.whenReady()]);
    const rooms = Array.from({ length: 30 }, (_, i) => `room-${i}`);
    try {
      for (let round = 0; round < 5; round++) {
        // Each instance's calls of one tick share a transaction; taken in call order, the row locks of
        // the two transactions would cross and PostgreSQL would fail one of them ("deadlock detected").
        await Promise.all([
          ...rooms.map((room, i) => a.appendUpdate(room, textUpdate(`a${round}.${i}`, 1000 + i))),
          ...[...rooms].reverse().map((room) => b.appendEvent(room, { type: 'x', user: null, data: round })),
          ...rooms.map((room, i) =>
            i % 3 === 0 ? b.createRevision(room, { label: 'r', user: null, state: textUpdate('r') }) : null,
          ),
        ]);
      }
      for (const room of rooms) expect((await a.getRoomInfo(room))?.lastSeq).toBe(5);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a compaction never deletes an update committed after the state it was given', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const a = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    const b = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    await Promise.all([a.whenReady(), b.whenReady()]);
    for (let i = 0; i < 5; i++) await a.appendUpdate('c', textUpdate(`x${i}`, i + 1));
    const snapshotState = Y.encodeStateAsUpdate(docFromStored(await a.loadRoom('c')));
    // Another instance appends while this one compacts up to seq 5.
    const [, late] = await Promise.all([a.compact('c', 5, snapshotState), b.appendUpdate('c', textUpdate('late', 6))]);
    expect(late).toBe(6);
    const loaded = await a.loadRoom('c');
    expect(loaded?.snapshotSeq).toBe(5);
    expect(loaded?.updates).toHaveLength(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('serves rooms with --store postgres: acked edits are there after a restart', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const config = { store: 'postgres' as const, databaseUrl: TEST_DATABASE_URL, databaseSchema: schema };
    let server = await startTestServer(config);
    const writer = await connectPeer(`${server.syncUrl}/pg-room`);
    writer.doc.getText('t').insert(0, 'kept in PostgreSQL');
    await eventually(() => expect(writer.acked).toBe(writer.sent));
    await writer.close();
    await server.drain();
    server = await startTestServer(config);
    const reader = await connectPeer(`${server.syncUrl}/pg-room`);
    await eventually(() => expect(reader.text).toBe('kept in PostgreSQL'));
    expect((await api(server.httpUrl, 'GET', '/readyz')).status).toBe(200);
    await reader.close();
    await server.drain();
  });

  it('a frozen database: /readyz answers 503 within its deadline, and ready again after', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const target = new URL(TEST_DATABASE_URL);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(TEST_DATABASE_URL);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const server = await startTestServer({
      store: 'postgres',
      databaseUrl: viaProxy.toString(),
      databaseSchema: schema,
    });
    onTestFinished(async () => {
      proxy.thaw();
      await server.drain();
      await proxy.close();
    });
    expect((await api(server.httpUrl, 'GET', '/readyz')).status).toBe(200);
    proxy.freeze(); // connections stay open; nothing comes back, as from a SIGSTOPped server
    const started = Date.now();
    const frozen = await api(server.httpUrl, 'GET', '/readyz');
    expect({ status: frozen.status, body: frozen.body }).toEqual({ status: 503, body: { status: 'store_timeout' } });
    expect(Date.now() - started).toBeLessThan(READY_DEADLINE_MS + 1_000);
    proxy.thaw();
    await eventually(async () => expect((await api(server.httpUrl, 'GET', '/readyz')).status).toBe(200));
  });

  it('connections killed by the database mid-write: no ack without a commit, and the server recovers by itself', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const applicationName = `tandem-kill-${schema}`;
    const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema, applicationName });
    const server = await startTestServer({}, { store });
    const writer = await connectPeer(`${server.syncUrl}/killed`);
    const text = writer.doc.getText('t');
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    let killed = 0;
    for (let i = 0; i < 60; i++) {
      text.insert(text.length, String(i % 10));
      if (i % 15 === 7) {
        const res = await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        );
        killed += res.rowCount ?? 0;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await admin.end();
    expect(killed).toBeGreaterThan(0);
    await eventually(() => expect(writer.acked).toBe(writer.sent), 20_000);
    // Everything acked is in the database, read back by a store of its own.
    const reader = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    expect(
      docFromStored(await reader.loadRoom('killed'))
        .getText('t')
        .toString(),
    ).toBe(text.toString());
    await reader.close();
    await writer.close();
    await server.drain();
  });

  it('refuses to start on a database it cannot reach, with the reason', async () => {
    await expect(
      startTestServer({ store: 'postgres', databaseUrl: 'postgres://postgres@127.0.0.1:1/none' }),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
  });

  it('an unreachable database fails writes and readiness, without crashing the process', async () => {
    const store = new PostgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      connectionTimeoutMs: 500,
    });
    await expect(store.appendUpdate('r', textUpdate('a', 1))).rejects.toThrow();
    await expect(store.ping()).rejects.toThrow();
    await store.close();
  });
});
