import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../src/server.js';
import { api } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { connectPeer } from './support/test-peer.js';

describe('room names', () => {
  let server: TandemServer;

  it('the whole documented range (256 chars, with /) works over a socket and every REST route', async () => {
    server = await startTestServer();
    const name = `team-42/${'n'.repeat(120)}/${'m'.repeat(256 - 129)}`;
    expect(name).toHaveLength(256);
    const path = `/v1/rooms/${encodeURIComponent(name)}`;
    const peer = await connectPeer(`${server.syncUrl}/${name}`);
    peer.doc.getText('t').insert(0, 'long');
    await eventually(() => expect(peer.acked).toBe(peer.sent));
    expect((await api(server.httpUrl, 'GET', `${path}/content?format=text&field=t`)).body).toBe('long');
    expect((await api(server.httpUrl, 'GET', path)).status).toBe(200);
    expect((await api(server.httpUrl, 'POST', `${path}/events`, { body: { type: 'x' } })).status).toBe(201);
    expect((await api(server.httpUrl, 'GET', `${path}/revisions`)).status).toBe(200);
    expect((await api(server.httpUrl, 'DELETE', path)).status).toBe(204);
    expect((await api(server.httpUrl, 'GET', path)).status).toBe(404);
  });

  it.each(['..', '.', 'a/../b', 'team/..', './x'])(
    '"%s" (a dot segment) is refused on REST and socket',
    async (name) => {
      server = await startTestServer();
      // Sent raw: fetch and browsers resolve dot segments before sending, other clients need not.
      const rest = await rawRequest(server.port, `/v1/rooms/${name.replaceAll('/', '%2F')}/content`);
      expect(rest.status).toBe(400);
      expect(JSON.parse(rest.body)).toMatchObject({ error: { code: 'invalid_request' } });
      const upgrade = await rawRequest(server.port, `/v1/sync/${name}`, {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      });
      expect(upgrade.status).toBe(400);
      expect(upgrade.body).toContain('invalid_room_name');
      expect(server.registry.size).toBe(0);
    },
  );
});

/** One HTTP request with the path exactly as given (no URL normalisation). */
function rawRequest(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
