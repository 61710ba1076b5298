import { decodeMessage, encodeAwareness, encodeStatus, TANDEM_SUBPROTOCOL } from '@tandem/protocol';
import * as decoding from 'lib0/decoding';
import type { IncomingMessage } from 'node:http';
import * as awarenessProtocol from 'y-protocols/awareness';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import * as Y from 'yjs';
import { eventually } from '../../server/test/support/eventually.js';
import type { TandemProvider } from '../src/index.js';
import { provider } from './support.js';

/** A server that speaks whatever the test says: what TandemProvider meets from a broken or hostile one. */
async function hostileServer(
  onSocket: (ws: WebSocket, n: number) => void,
): Promise<{ url: string; sockets: number; requests: IncomingMessage[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => TANDEM_SUBPROTOCOL });
  await new Promise((resolve) => wss.once('listening', resolve));
  const state = {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1/sync`,
    sockets: 0,
    requests: [] as IncomingMessage[],
  };
  wss.on('connection', (ws, req) => {
    state.requests.push(req);
    onSocket(ws, ++state.sockets);
  });
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  return state;
}

const status = encodeStatus({ room: 'r', serverTime: Date.now(), peers: 1, readOnly: false });

function open(url: string, options: Parameters<typeof provider>[2] = {}): TandemProvider {
  const p = provider(url, 'r', options);
  onTestFinished(() => p.destroy());
  return p;
}

describe('TandemProvider against a hostile server', () => {
  it.each([
    ['a sync frame cut after its type', Uint8Array.of(0)],
    ['a sync update whose update is garbage', Uint8Array.of(0, 2, 5, 255, 255, 255, 255, 255)],
    ['a sync step 1 with a corrupt state vector', Uint8Array.of(0, 0, 3, 200, 200, 200)],
    ['an awareness frame with a corrupt state', Uint8Array.of(1, 4, 1, 1, 1, 9)],
  ])('%s: an error event and a reconnect, never a throw into the app', async (_what, frame) => {
    const server = await hostileServer((ws) => {
      ws.send(status);
      ws.send(frame);
    });
    const p = open(server.url);
    const errors: { code: string }[] = [];
    p.on('error', (e) => errors.push(e));
    // An exception escaping the socket's message handler fails this file as an unhandled error.
    await eventually(() => expect(errors.map((e) => e.code)).toContain('invalid_message'));
    await eventually(() => expect(server.sockets).toBeGreaterThan(1));
  });

  it('a server that accepts and never speaks: the attempt fails after the handshake timeout and is retried', async () => {
    const server = await hostileServer(() => undefined);
    const p = open(server.url, { handshakeTimeoutMs: 300 });
    const errors: { code: string }[] = [];
    p.on('error', (e) => errors.push(e));
    await eventually(() => expect(server.sockets).toBeGreaterThan(1), 3_000);
    expect(errors.map((e) => e.code)).toContain('handshake_timeout');
    expect(p.status).not.toBe('live');
  });

  /** The client ids an awareness update carries (a state, or null for a removal). */
  const clientIdsIn = (update: Uint8Array): number[] => {
    const decoder = decoding.createDecoder(update);
    const ids: number[] = [];
    for (let n = decoding.readVarUint(decoder); n > 0; n--) {
      ids.push(decoding.readVarUint(decoder));
      decoding.readVarUint(decoder); // clock
      decoding.readVarString(decoder); // state, "null" for a removal
    }
    return ids;
  };

  it('a flood of made-up presence states is capped, locally: no removal of others is sent back', async () => {
    const fake = new awarenessProtocol.Awareness(new Y.Doc());
    const clients = Array.from({ length: 500 }, (_, i) => i + 1_000);
    for (const clientID of clients) {
      fake.states.set(clientID, { user: { name: `ghost ${clientID}` } });
      fake.meta.set(clientID, { clock: 1, lastUpdated: Date.now() });
    }
    const flood = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(fake, clients));
    const sentBack: number[] = [];
    const server = await hostileServer((ws) => {
      ws.on('message', (data: Buffer) => {
        const message = decodeMessage(new Uint8Array(data));
        if (message.type === 'awareness') sentBack.push(...clientIdsIn(message.update));
      });
      ws.send(status);
      ws.send(flood);
    });
    const p = open(server.url, { maxPresenceStates: 100 });
    const errors: { code: string }[] = [];
    p.on('error', (e) => errors.push(e));
    await eventually(() => expect(errors.map((e) => e.code)).toContain('presence_limit'));
    expect(p.awareness.getStates().size).toBeLessThanOrEqual(100);
    expect(p.awareness.getStates().has(p.awareness.clientID)).toBe(true);
    // Its own state still goes out; what it dropped of others is its own business, not the server's.
    p.awareness.setLocalStateField('user', { name: 'me' });
    await eventually(() => expect(sentBack).toContain(p.awareness.clientID));
    expect(sentBack.filter((id) => clients.includes(id))).toEqual([]);
  });

  it('a token travels in the subprotocol, never in the URL (where consoles and proxy logs show it)', async () => {
    const server = await hostileServer((ws) => ws.send(status));
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
    const p = open(server.url, { token: jwt });
    await eventually(() => expect(p.status).toBe('live'));
    const [request] = server.requests;
    expect(request!.url).toBe('/v1/sync/r');
    expect(request!.headers['sec-websocket-protocol']?.split(/, */)).toEqual([
      TANDEM_SUBPROTOCOL,
      `tandem.token.${jwt}`,
    ]);
  });
});
