import { encodeAwareness, encodeSyncUpdate } from '@tandem/protocol';
import * as prng from 'lib0/prng';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

describe('bad input', () => {
  let server: TandemServer;
  const join = async (room: string, tandem = true): Promise<TestPeer> => {
    const p = await connectPeer(`${server.syncUrl}/${room}`, { tandem });
    return p;
  };

  /** A healthy room next door that must keep working whatever the attacker does. */
  async function healthyNeighbour(): Promise<() => Promise<void>> {
    const a = await join('neighbour');
    const b = await join('neighbour');
    await eventually(() => expect(a.synced && b.synced).toBe(true));
    return async () => {
      const marker = `${Date.now()}-${Math.random()}`;
      a.doc.getMap('m').set('marker', marker);
      await eventually(() => expect(b.doc.getMap('m').get('marker')).toBe(marker));
    };
  }

  it.each([
    ['truncated varint', new Uint8Array([0x80]), 1002],
    ['unknown message type', new Uint8Array([77]), 1002],
    ['huge length prefix', new Uint8Array([0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f]), 1002],
    ['varint overflow', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1002],
    ['garbage Yjs update', encodeSyncUpdate(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x05])), 1007],
    ['garbage awareness', encodeAwareness(new Uint8Array([1, 5, 1, 3, 0x7b, 0x7b, 0x7b])), 1007],
  ])('%s closes the connection with a reason; other rooms unaffected', async (_name, frame, code) => {
    server = await startTestServer();
    const check = await healthyNeighbour();
    const attacker = await join('attacked');
    await eventually(() => expect(attacker.synced).toBe(true));
    attacker.sendRaw(frame);
    const closed = await attacker.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason.length).toBeGreaterThan(0);
    expect(attacker.received.find((m) => m.type === 'error')).toBeDefined();
    await check();
  });

  it('text frames close with 1003', async () => {
    server = await startTestServer();
    const attacker = await join('text', false);
    attacker.sendRaw('hello');
    expect((await attacker.closed).code).toBe(1003);
  });

  it('frames over the size limit close with 1009; the limit is configurable', async () => {
    server = await startTestServer({ maxMessageBytes: 4096 });
    const check = await healthyNeighbour();
    const attacker = await join('big');
    attacker.sendRaw(new Uint8Array(5000));
    expect((await attacker.closed).code).toBe(1009);
    // Just under the limit is accepted (a legitimate big update).
    const ok = await join('big');
    const text = 'y'.repeat(3000);
    ok.doc.getText('t').insert(0, text);
    await eventually(() => expect(ok.acked).toBe(ok.sent));
    await check();
  });

  it('random bytes from many connections never take the server down (seeded)', async () => {
    server = await startTestServer();
    const check = await healthyNeighbour();
    const seed = 4242;
    const gen = prng.create(seed);
    for (let round = 0; round < 10; round++) {
      const attackers = await Promise.all(Array.from({ length: 10 }, () => connectPeer(`${server.syncUrl}/fuzz`)));
      for (const a of attackers) {
        for (let i = 0; i < 5; i++) {
          const frame = prng.uint8Array(gen, prng.int32(gen, 1, 64));
          if (prng.bool(gen)) frame[0] = prng.oneOf(gen, [0, 1, 3]);
          if (frame[0] === 0 && frame.length > 1) frame[1] = prng.int32(gen, 0, 2);
          if (a.ws.readyState === WebSocket.OPEN) a.sendRaw(frame);
        }
      }
      await new Promise((r) => setTimeout(r, 20));
      for (const a of attackers) a.terminate();
    }
    await check().catch((err: unknown) => {
      throw new Error(`seed ${seed}: neighbour room stopped working: ${String(err)}`);
    });
    const res = await fetch(`${server.httpUrl}/healthz`);
    expect(res.status).toBe(200);
  });

  it('refuses upgrades to unknown paths and invalid room names with an HTTP error', async () => {
    server = await startTestServer();
    const statusOf = (path: string): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
    expect(await statusOf('/elsewhere')).toBe(404);
    expect(await statusOf('/v1/sync/')).toBe(400);
    expect(await statusOf('/v1/sync/bad%20name')).toBe(400);
    expect(await statusOf('/v1/sync/a//b')).toBe(400);
    expect(await statusOf('/v1/sync/%E0%A4%A')).toBe(400);
    expect(await statusOf('/v1/sync/team-42/notes')).toBe(101);
  });

  it('drops a peer whose send buffer passes the limit instead of buffering without bound', async () => {
    server = await startTestServer({ maxBufferedBytes: 64 * 1024 });
    const writer = await join('flood');
    const slow = await join('flood');
    await eventually(() => expect(writer.synced && slow.synced).toBe(true));
    // Stop reading on the slow peer's socket so the server's buffer for it fills up.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = 'z'.repeat(16 * 1024);
    for (let i = 0; i < 400 && slow.closeEvent === null; i++) {
      writer.doc.getText('t').insert(0, chunk);
      await new Promise((r) => setTimeout(r, 2));
      const serverPeers = server.registry.get('flood')?.peerCount ?? 0;
      if (serverPeers < 2) break;
    }
    await eventually(() => expect(server.registry.get('flood')!.peerCount).toBe(1));
    // The writer is unaffected.
    await eventually(() => expect(writer.acked).toBe(writer.sent));
  });

  it('serves /healthz and /readyz, and JSON 404 elsewhere', async () => {
    server = await startTestServer();
    expect(await (await fetch(`${server.httpUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${server.httpUrl}/readyz`)).status).toBe(200);
    const res = await fetch(`${server.httpUrl}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
