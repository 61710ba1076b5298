import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodePublish, type Message } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/ops/config.js';
import type { ServerDeps, TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { devUser } from './support/auth.js';
import { startTestServer } from './support/server.js';
import { SseClient } from './support/sse.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';
import { afterThisTest } from './support/cleanup.js';

const as = devUser;

describe('events', () => {
  let server: TandemServer;
  const start = async (config: ConfigInput = {}, deps: ServerDeps = {}) => {
    server = await startTestServer({ devAuth: true, roomUpdatedDebounceMs: 50, ...config }, deps);
  };
  const post = async (room: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.httpUrl}/v1/rooms/${room}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...as('ada'), ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { event: { id: string; type: string } } };
  };
  const poll = async (room: string, query = '') => {
    const res = await fetch(`${server.httpUrl}/v1/rooms/${room}/events${query}`, { headers: as('ada') });
    return {
      status: res.status,
      json: (await res.json()) as { events: { id: string; type: string; data: unknown }[]; next: string },
    };
  };
  const appEvents = <T extends { type: string }>(events: T[]): T[] =>
    events.filter((e) => !e.type.startsWith('collab.'));
  const join = async (room: string, user = 'pat'): Promise<TestPeer> => {
    const p = await connectPeer(`${server.syncUrl}/${room}?user=${user}`);
    await eventually(() => expect(p.synced).toBe(true));
    return p;
  };

  it('stores one event per Idempotency-Key and polls exactly the missed events in order', async () => {
    await start();
    const first = await post('feed', { type: 'order.paid', data: { n: 1 } }, { 'idempotency-key': 'pay-1' });
    const again = await post('feed', { type: 'order.paid', data: { n: 1 } }, { 'idempotency-key': 'pay-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.event).toEqual(first.json.event);
    for (let i = 2; i <= 5; i++) await post('feed', { type: 'tick', data: i });
    const all = await poll('feed');
    expect(appEvents(all.json.events).map((e) => e.data)).toEqual([{ n: 1 }, 2, 3, 4, 5]);
    const ids = all.json.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const cursor = all.json.events[2]!.id;
    const missed = await poll('feed', `?since=${cursor}`);
    expect(missed.json.events.map((e) => e.id)).toEqual(all.json.events.slice(3).map((e) => e.id));
    expect((await poll('feed', `?since=${all.json.next}`)).json.events).toEqual([]);
    const page = await poll('feed', '?since=0&limit=2');
    expect(page.json.events).toHaveLength(2);
    expect(page.json.next).toBe(page.json.events[1]!.id);
  });

  it('refuses bad input, reserved types, unauthenticated, viewers writing and unknown rooms', async () => {
    await start();
    expect((await post('x', { type: '' })).status).toBe(400);
    expect((await post('x', { type: 'collab.user_joined' })).status).toBe(400);
    expect((await post('x', { type: 'big', data: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await post('x', { type: 'ok' }, { 'x-user-id': '' })).status).toBe(401);
    expect((await post('x', { type: 'ok' }, as('vic', 'viewer'))).status).toBe(403);
    expect((await poll('never-existed')).status).toBe(404);
  });

  it('fans out live to Tandem socket clients (never to stock clients), including server events', async () => {
    await start();
    const tandem = await join('live', 'tia');
    await post('live', { type: 'chat', data: { text: 'hi' } });
    // Joins are recorded once the room exists in the store (the event above created it).
    const stock = await connectPeer(`${server.syncUrl}/live?user=sam`, { tandem: false });
    await eventually(() =>
      expect(tandem.received.find((m) => m.type === 'event' && m.event.type === 'chat')).toMatchObject({
        event: { type: 'chat', room: 'live', user: 'ada', data: { text: 'hi' } },
      }),
    );
    await eventually(() =>
      expect(
        tandem.received.some(
          (m) => m.type === 'event' && m.event.type === 'collab.user_joined' && m.event.user === 'sam',
        ),
      ).toBe(true),
    );
    expect(stock.types.filter((t) => t === 'event')).toEqual([]);
  });

  it('publishes over the socket with the rules of REST: answered by ref, fanned out, idempotent, viewers refused', async () => {
    await start();
    const sender = await join('sock', 'sia');
    const other = await join('sock', 'oto');
    const viewer = await connectPeer(`${server.syncUrl}/sock?user=vic&role=viewer`);
    await eventually(() => expect(viewer.synced).toBe(true));
    const answer = (peer: TestPeer, ref: string) =>
      eventually(() => {
        const found = peer.received.find((m) => m.type === 'published' && m.published.ref === ref);
        expect(found).toBeDefined();
        return (found as Extract<Message, { type: 'published' }>).published;
      });

    sender.sendRaw(encodePublish({ ref: 'p1', type: 'chat', data: { text: 'hi' }, idempotencyKey: 'k1' }));
    const first = await answer(sender, 'p1');
    expect(first).toMatchObject({ event: { type: 'chat', user: 'sia', room: 'sock', data: { text: 'hi' } } });
    const id = 'event' in first ? first.event.id : '';
    await eventually(() => expect(other.received.some((m) => m.type === 'event' && m.event.id === id)).toBe(true));
    expect(appEvents((await poll('sock')).json.events).map((e) => e.id)).toEqual([id]);

    // A resend after a lost answer (same key) stores nothing new.
    sender.sendRaw(encodePublish({ ref: 'p2', type: 'chat', data: { text: 'hi' }, idempotencyKey: 'k1' }));
    expect(await answer(sender, 'p2')).toMatchObject({ event: { id } });
    expect(appEvents((await poll('sock')).json.events)).toHaveLength(1);

    sender.sendRaw(encodePublish({ ref: 'p3', type: 'collab.fake' }));
    expect(await answer(sender, 'p3')).toMatchObject({ error: { code: 'invalid_request' } });
    sender.sendRaw(encodePublish({ ref: 'p4', type: 'big', data: 'x'.repeat(70_000) }));
    expect(await answer(sender, 'p4')).toMatchObject({ error: { code: 'message_too_big' } });
    viewer.sendRaw(encodePublish({ ref: 'v1', type: 'chat', data: 'from a viewer' }));
    expect(await answer(viewer, 'v1')).toMatchObject({ error: { code: 'read_only' } });
    expect(appEvents((await poll('sock')).json.events)).toHaveLength(1);
    expect(sender.closeEvent).toBeNull();
    expect(viewer.closeEvent).toBeNull();
  });

  it('emits collab.* server events: joined, left, collaborator added/removed, room updated (debounced)', async () => {
    await start();
    const peer = await join('srv', 'owen');
    for (let i = 0; i < 5; i++) peer.doc.getText('t').insert(0, 'x');
    await eventually(() => expect(peer.acked).toBe(peer.sent));
    // Joined and left are recorded for rooms that exist; owen's join came before the room did.
    const visitor = await join('srv', 'vi');
    visitor.terminate();
    const owner = as('owen');
    await fetch(`${server.httpUrl}/v1/rooms/srv/collaborators/guest`, {
      method: 'PUT',
      headers: { ...owner, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    });
    await fetch(`${server.httpUrl}/v1/rooms/srv/collaborators/guest`, { method: 'DELETE', headers: owner });
    peer.terminate();
    await eventually(async () => {
      const types = (await poll('srv')).json.events.map((e) => e.type);
      expect(types).toEqual(
        expect.arrayContaining([
          'collab.user_joined',
          'collab.collaborator_added',
          'collab.collaborator_removed',
          'collab.room_updated',
          'collab.user_left',
        ]),
      );
      // Five quick edits, one room_updated (plus possibly one from the owner record).
      expect(types.filter((t) => t === 'collab.room_updated').length).toBeLessThanOrEqual(2);
    });
  });

  it('SSE: backlog, live events, and resume with Last-Event-ID without gaps', async () => {
    await start();
    await post('sse', { type: 'a', data: 1 });
    const first = new SseClient(`${server.httpUrl}/v1/rooms/sse/events/stream`, as('ada'));
    await eventually(() => expect(appEvents(first.events.map((e) => e.data as { type: string }))).toHaveLength(1));
    await post('sse', { type: 'b', data: 2 });
    await eventually(() => expect(first.events.map((e) => e.event)).toContain('b'));
    first.close();
    const lastSeen = first.events.at(-1)!.id;
    for (let i = 3; i <= 6; i++) await post('sse', { type: 'c', data: i });
    const resumed = new SseClient(`${server.httpUrl}/v1/rooms/sse/events/stream`, {
      ...as('ada'),
      'last-event-id': lastSeen,
    });
    await eventually(() => expect(resumed.events.map((e) => (e.data as { data: unknown }).data)).toEqual([3, 4, 5, 6]));
    await post('sse', { type: 'd', data: 7 });
    await eventually(() => expect(resumed.events.map((e) => e.id)).toHaveLength(5));
    const ids = [...first.events, ...resumed.events].map((e) => Number(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('broadcast reaches connected Tandem peers and is not stored', async () => {
    await start();
    const peer = await join('bc');
    const res = await fetch(`${server.httpUrl}/v1/rooms/bc/broadcast`, {
      method: 'POST',
      headers: { ...as('ada'), 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'cursor.ping', data: { x: 1 } }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ delivered: 1 });
    await eventually(() =>
      expect(peer.received.find((m) => m.type === 'event' && m.event.type === 'cursor.ping')).toBeDefined(),
    );
    expect((await poll('bc')).json.events.map((e) => e.type)).not.toContain('cursor.ping');
  });

  it('webhooks: signed POST, retried after a 500 until delivered', async () => {
    const received: { body: string; signature: string; attempt: string }[] = [];
    let calls = 0;
    const receiver: Server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        calls++;
        received.push({
          body,
          signature: String(req.headers['tandem-signature']),
          attempt: String(req.headers['tandem-delivery-attempt']),
        });
        res.writeHead(calls === 1 ? 500 : 204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    afterThisTest(() => receiver.close());
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const secret = 'whsec-test-0123456789';
    await start({ webhookUrl: [url], webhookSecret: secret }, { webhookOptions: { retryBaseMs: 50 } });
    await post('wh', { type: 'invoice.sent', data: { id: 7 } });
    await eventually(() =>
      expect(received.filter((r) => r.body.includes('invoice.sent')).length).toBeGreaterThanOrEqual(2),
    );
    const deliveries = received.filter((r) => r.body.includes('invoice.sent'));
    expect(deliveries[0]!.body).toBe(deliveries[1]!.body);
    expect(deliveries.map((d) => d.attempt).slice(0, 2)).toEqual(['1', '2']);
    for (const d of deliveries) {
      const { t, v1 } = Object.fromEntries(d.signature.split(',').map((p) => p.split('='))) as {
        t: string;
        v1: string;
      };
      expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${d.body}`).digest('hex'));
      expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60);
    }
    expect(JSON.parse(deliveries[0]!.body)).toMatchObject({
      type: 'invoice.sent',
      room: 'wh',
      user: 'ada',
      data: { id: 7 },
    });
    const failures = (await server.metrics.webhookFailures.get()).values.find(
      (v) => v.labels.reason === 'delivery_failed',
    );
    expect(failures?.value).toBeGreaterThanOrEqual(1);
  });
});
