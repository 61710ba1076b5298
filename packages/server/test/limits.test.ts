import { encodeAwareness, encodeQueryAwareness, encodeSyncStep1, encodeSyncUpdate } from '@tandem/protocol';
import * as awarenessProtocol from 'y-protocols/awareness';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ConfigInput } from '../src/ops/config.js';
import type { TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { connectPeer, TestPeer } from './support/test-peer.js';

describe('limits', () => {
  let server: TandemServer;
  const peers: TestPeer[] = [];
  const start = async (config: ConfigInput): Promise<void> => {
    server = await startTestServer(config);
  };
  const join = async (room: string): Promise<TestPeer> => {
    const p = await connectPeer(`${server.syncUrl}/${room}`);
    peers.push(p);
    await eventually(() => expect(p.synced).toBe(true));
    return p;
  };
  const refusals = async (reason: string): Promise<number> =>
    (await server.metrics.refusals.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  it('an update flood is cut off with 4429 while the others keep receiving', async () => {
    await start({ maxUpdatesPerSecond: 20, updateBurst: 40 });
    const flooder = await join('flood');
    const a = await join('flood');
    const b = await join('flood');
    const text = flooder.doc.getText('t');
    for (let i = 0; i < 200 && flooder.closeEvent === null; i++) text.insert(0, 'x');
    const closed = await flooder.closed;
    expect(closed.code).toBe(4429);
    expect(flooder.received.find((m) => m.type === 'error')).toMatchObject({ code: 'rate_limited' });
    // Normal editing continues for everyone else.
    a.doc.getText('t').insert(0, 'still ');
    await eventually(() => expect(b.text.startsWith('still ')).toBe(true));
    expect(await refusals('rate_limited')).toBe(1);
  });

  it('an awareness flood is throttled: the latest state still arrives and others are unaffected', async () => {
    await start({ maxAwarenessPerSecond: 5, awarenessBurst: 5 });
    const flooder = await join('aw');
    const a = await join('aw');
    const b = await join('aw');
    const clientID = 4242;
    const flood = new awarenessProtocol.Awareness(new Y.Doc());
    flood.doc.clientID = clientID;
    flood.clientID = clientID;
    for (let i = 0; i < 300; i++) {
      flood.setLocalState({ cursor: i });
      flooder.sendRaw(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(flood, [clientID])));
    }
    a.awareness.setLocalStateField('name', 'a');
    a.doc.getText('t').insert(0, 'hello');
    await eventually(() => expect(b.awareness.getStates().get(a.doc.clientID)).toEqual({ name: 'a' }));
    await eventually(() => expect(b.text).toBe('hello'));
    // Throttled, not dropped: the flooder's last state is what everyone ends up with.
    await eventually(() => expect(b.awareness.getStates().get(clientID)).toEqual({ cursor: 299 }), 5_000);
    expect(flooder.closeEvent).toBeNull();
    const received = b.received.filter((m) => m.type === 'awareness').length;
    expect(received).toBeLessThan(100);
    expect((await server.metrics.awarenessThrottled.get()).values[0]!.value).toBeGreaterThan(200);
    flood.destroy();
  });

  it('refuses an update that would take the document past its size limit, and stays healthy', async () => {
    await start({ maxDocumentBytes: 64 * 1024 });
    const a = await join('big');
    const b = await join('big');
    const src = new Y.Doc();
    src.getText('t').insert(0, 'z'.repeat(100 * 1024));
    a.sendRaw(encodeSyncUpdate(Y.encodeStateAsUpdate(src)));
    const closed = await a.closed;
    expect(closed.code).toBe(1009);
    expect(a.received.find((m) => m.type === 'error')).toMatchObject({ code: 'document_too_large' });
    expect(server.registry.get('big')!.doc.getText('t').length).toBe(0);
    b.doc.getText('t').insert(0, 'small edits still work');
    await eventually(() => expect(b.acked).toBe(b.sent));
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
  });

  it('a stock client past the document limit is kept read-only and told, not closed into a resend loop', async () => {
    await start({ maxDocumentBytes: 16 * 1024 });
    const stock = await connectPeer(`${server.syncUrl}/stock-big`, { tandem: false });
    peers.push(stock);
    await eventually(() => expect(stock.synced).toBe(true));
    stock.doc.getText('t').insert(0, 'z'.repeat(20 * 1024));
    await eventually(() => expect(stock.types).toContain('auth-denied'));
    expect(stock.received.find((m) => m.type === 'auth-denied')).toMatchObject({
      reason: expect.stringMatching(/^document_too_large/),
    });
    // Later edits are dropped too; the socket stays open (the fence answers on the same socket).
    stock.doc.getText('t').insert(0, 'small');
    const awarenessFrames = stock.types.filter((t) => t === 'awareness').length;
    stock.sendRaw(encodeQueryAwareness());
    await eventually(() => expect(stock.types.filter((t) => t === 'awareness').length).toBe(awarenessFrames + 1));
    expect(stock.closeEvent).toBeNull();
    expect(server.registry.get('stock-big')!.doc.getText('t').length).toBe(0);
  });

  it('accumulated edits past the document limit are refused too', async () => {
    await start({ maxDocumentBytes: 16 * 1024 });
    const a = await join('grow');
    for (let i = 0; i < 40 && a.closeEvent === null; i++) {
      a.doc.getText('t').insert(0, 'y'.repeat(1024));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await a.closed).code).toBe(1009);
    expect(server.registry.get('grow')?.sizeEstimate ?? 0).toBeLessThanOrEqual(16 * 1024);
  });

  it('a full room refuses the next peer with 1013', async () => {
    await start({ maxConnectionsPerRoom: 2 });
    await join('full');
    await join('full');
    const third = new TestPeer(`${server.syncUrl}/full`);
    peers.push(third);
    const closed = await third.closed;
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(/maximum/);
    expect(third.types.filter((t) => t.startsWith('sync'))).toEqual([]);
  });

  it('refuses to load more rooms than the process limit with 1013', async () => {
    await start({ maxRooms: 2, unloadDelayMs: 60_000 });
    await join('r1');
    await join('r2');
    const third = new TestPeer(`${server.syncUrl}/r3`);
    peers.push(third);
    expect((await third.closed).code).toBe(1013);
    await join('r1'); // existing rooms still accept peers
  });

  it('limits connections per client address with 4429', async () => {
    await start({ maxConnectionsPerIp: 3 });
    const first = await join('ip');
    await join('ip');
    await join('ip');
    const fourth = new TestPeer(`${server.syncUrl}/ip`);
    peers.push(fourth);
    const closed = await fourth.closed;
    expect(closed.code).toBe(4429);
    first.terminate();
    await eventually(async () => {
      const again = await connectPeer(`${server.syncUrl}/ip`);
      peers.push(again);
      await eventually(() => expect(again.synced).toBe(true), 1_000);
    });
  });

  it('rooms one address may have loaded are limited (4429); joining a loaded room is not', async () => {
    await start({ maxRoomsPerIp: 2 });
    const a = await join('quota-a');
    await join('quota-b');
    const third = new TestPeer(`${server.syncUrl}/quota-c`);
    peers.push(third);
    expect((await third.closed).code).toBe(4429);
    expect(third.received).toContainEqual(
      expect.objectContaining({ type: 'error', code: 'too_many_rooms_per_address' }),
    );
    await join('quota-a'); // already loaded: costs nothing
    a.terminate();
    // Still loaded through the other peer of quota-a; a room frees its slot when it unloads.
    for (const p of peers.splice(0)) p.terminate();
    await eventually(() => expect(server.registry.size).toBe(0));
    await join('quota-c');
  });

  it('answers a burst of sync step 1 a few times, then only the latest one, later', async () => {
    await start({});
    const p = await join('step1');
    const step2s = (): number => p.received.filter((m) => m.type === 'sync-step2').length;
    expect(step2s()).toBe(1); // the answer to the client's own opening step 1
    const stateVector = Y.encodeStateVector(p.doc);
    for (let i = 0; i < 10; i++) p.sendRaw(encodeSyncStep1(stateVector));
    // Frames are handled in order: the answer to this comes after everything sent before it.
    const awarenessFrames = (): number => p.types.filter((t) => t === 'awareness').length;
    const before = awarenessFrames();
    p.sendRaw(encodeQueryAwareness());
    await eventually(() => expect(awarenessFrames()).toBe(before + 1));
    expect(step2s()).toBe(4);
    await eventually(() => expect(step2s()).toBe(5), 7_000);
    expect(p.closeEvent).toBeNull();
  });

  it('a request trickled in slowly is cut off after --request-timeout-ms', async () => {
    await start({ requestTimeoutMs: 1_000 });
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const startedAt = Date.now();
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // headers never finished
    await new Promise<void>((r) => socket.once('close', () => r()));
    // Node checks every 500 ms here (half the timeout): closed after the timeout, well before 90 s.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  });

  it('visiting rooms without writing stores nothing: no rooms, no events, no owners', async () => {
    await start({});
    for (let i = 0; i < 20; i++) {
      const visitor = await join(`visit-${i}`);
      visitor.awareness.setLocalStateField('name', 'just looking');
      await eventually(() => expect(server.registry.get(`visit-${i}`)?.presenceStates().length).toBe(1));
      visitor.terminate();
    }
    await eventually(() => expect(server.registry.size).toBe(0));
    expect(await server.store.listRooms({ limit: 100 })).toEqual([]);
    expect(await server.store.listEvents('visit-0', { since: 0, limit: 10 })).toEqual([]);
    // The first write creates the room.
    const writer = await join('visit-0');
    writer.doc.getText('t').insert(0, 'now it exists');
    await eventually(() => expect(writer.acked).toBe(writer.sent));
    expect((await server.store.listRooms({ limit: 100 })).map((r) => r.name)).toEqual(['visit-0']);
  });

  it('cuts off a peer that stops answering pings and keeps one that answers', async () => {
    // Long enough that a busy test machine's event-loop stalls do not look like a dead peer.
    await start({ heartbeatMs: 150 });
    const answering = await join('beat');
    const silent = new TestPeer(`${server.syncUrl}/beat`, { autoPong: false });
    peers.push(silent);
    expect((await silent.closed).code).toBe(1006);
    expect(await refusals('heartbeat_timeout')).toBe(1);
    await new Promise((r) => setTimeout(r, 600)); // four more rounds of pings
    expect(answering.ws.readyState).toBe(answering.ws.OPEN);
  });
});
