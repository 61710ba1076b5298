import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { spawnServer } from './support/child-server.js';
import { eventually } from './support/eventually.js';
import { tempDir } from './support/server.js';
import { connectPeer } from './support/test-peer.js';

describe('graceful drain on SIGTERM', () => {
  const dir = tempDir('tandem-drain-');
  afterAll(() => dir.cleanup());

  it('saves everything peers sent, closes them with 1012 and exits 0', async () => {
    const server = await spawnServer(['--data-dir', dir.dir]);
    const peers = await Promise.all(Array.from({ length: 8 }, () => connectPeer(`${server.syncUrl}/drain`)));
    await eventually(() => expect(peers.every((p) => p.synced)).toBe(true));
    const sent = new Set<string>();
    let n = 0;
    const timer = setInterval(() => {
      for (const p of peers) {
        if (p.ws.readyState !== p.ws.OPEN) continue;
        const item = `i${n++}`;
        // Only items actually written to an open socket count: those the server must keep.
        p.doc.getArray<string>('log').push([item]);
        sent.add(item);
      }
    }, 2);
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGTERM');
    const closes = await Promise.all(peers.map((p) => p.closed));
    clearInterval(timer);
    expect(closes.map((c) => c.code)).toEqual(peers.map(() => 1012));
    const exit = await server.exited;
    expect(exit.code).toBe(0);
    expect(server.logs.some((l) => l.msg === 'drained' && l.clean === true)).toBe(true);

    const check = await spawnServer(['--data-dir', dir.dir]);
    const reader = await connectPeer(`${check.syncUrl}/drain`, { doc: new Y.Doc() });
    await eventually(() => expect(reader.synced).toBe(true));
    const stored = new Set(reader.doc.getArray<string>('log').toArray());
    expect([...sent].filter((item) => !stored.has(item))).toEqual([]);
    reader.terminate();
    check.child.kill('SIGTERM');
    expect((await check.exited).code).toBe(0);
  }, 60_000);

  it('refuses new connections while draining', async () => {
    const server = await spawnServer(['--store', 'memory']);
    const peer = await connectPeer(`${server.syncUrl}/x`);
    server.child.kill('SIGTERM');
    await peer.closed;
    await server.exited;
    await expect(connectPeer(`${server.syncUrl}/x`)).rejects.toThrow();
  }, 30_000);

  it('a client trickling in a request does not hold the drain (cut after a short grace)', async () => {
    const server = await spawnServer(['--store', 'memory']);
    const socket = connect(server.port, '127.0.0.1');
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // never finished
    await new Promise((r) => setTimeout(r, 100));
    const startedAt = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    // Without the cut, Node stops timing requests out once it stops listening: the drain never ended.
    expect(exit.code).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(8_000);
    socket.destroy();
  }, 30_000);
});
