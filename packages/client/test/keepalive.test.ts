import { encodeStatus } from '@tandem/protocol';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { TandemServer } from '../../server/src/server.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import type { TandemProvider } from '../src/index.js';
import { provider } from './support.js';
import { afterThisTest } from '../../server/test/support/cleanup.js';

describe('dead-socket detection', () => {
  const open = (url: string, room: string): TandemProvider => {
    const p = provider(url, room, { pingIntervalMs: 100 });
    return p;
  };

  it('gives up a socket whose server stopped answering and reconnects', async () => {
    // Joins the client (a status frame) and then never says anything again: a half-open connection.
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => silent.once('listening', () => r()));
    afterThisTest(() => new Promise((r) => silent.close(r)));
    let connections = 0;
    silent.on('connection', (ws) => {
      connections++;
      ws.send(encodeStatus({ room: 'r', serverTime: Date.now(), peers: 1, readOnly: false }));
    });
    const port = (silent.address() as AddressInfo).port;
    const p = open(`ws://127.0.0.1:${port}/v1/sync`, 'r');
    await eventually(() => expect(p.status).toBe('live'));
    await eventually(() => expect(p.getDiagnostics().lastClose).toEqual({ code: 4000, reason: 'no answer to ping' }));
    await eventually(() => expect(connections).toBeGreaterThanOrEqual(2));
  });

  it('keeps a healthy socket: the server answers every ping', async () => {
    const server: TandemServer = await startTestServer();
    const p = open(server.syncUrl, 'healthy');
    await p.whenSynced();
    await new Promise((r) => setTimeout(r, 1_000)); // ten intervals
    expect(p.status).toBe('live');
    expect(p.getDiagnostics().reconnects).toBe(0);
  });
});
