import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../src/server.js';
import { api, SECRET, token } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { SseClient } from './support/sse.js';

describe('REST and SSE hardening', () => {
  let server: TandemServer;
  const stream = (path: string, headers: Record<string, string> = {}): SseClient => {
    const s = new SseClient(`${server.httpUrl}${path}`, headers);
    return s;
  };
  const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

  it('GET /v1/rooms pages through visible rooms only; next never names a room the caller cannot see', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const admin = await token('root', { rooms: { '**': 'owner' } });
    for (const room of ['acc/layoffs-2026', 'acc/secret-merger-plan', 'other/a', 'other/b', 'shared']) {
      expect(
        (
          await api(server.httpUrl, 'POST', `/v1/rooms/${encodeURIComponent(room)}/events`, {
            token: admin,
            body: { type: 'x' },
          })
        ).status,
      ).toBe(201);
    }
    await api(server.httpUrl, 'PUT', '/v1/rooms/shared/collaborators/eve', { token: admin, body: { role: 'viewer' } });
    const eve = await token('eve', { rooms: { 'other/*': 'viewer' } });
    const seen: string[] = [];
    const cursors: string[] = [];
    let query = '?limit=1';
    for (let i = 0; i < 10; i++) {
      const res = await api(server.httpUrl, 'GET', `/v1/rooms${query}`, { token: eve });
      const body = res.body as { rooms: { name: string }[]; next: string | null };
      seen.push(...body.rooms.map((r) => r.name));
      if (body.next === null) break;
      cursors.push(body.next);
      query = `?limit=1&after=${encodeURIComponent(body.next)}`;
    }
    expect(seen).toEqual(['other/a', 'other/b', 'shared']);
    expect(cursors.every((c) => seen.includes(c))).toBe(true);
  });

  it('Idempotency-Key is scoped per user; reuse with a different body answers 422', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const ada = await token('ada');
    const bob = await token('bob');
    const post = (t: string, body: unknown) =>
      api(server.httpUrl, 'POST', '/v1/rooms/pay/events', { token: t, body, headers: { 'idempotency-key': 'k1' } });
    const first = await post(ada, { type: 'paid', data: { n: 1 } });
    expect(first.status).toBe(201);
    const retry = await post(ada, { type: 'paid', data: { n: 1 } });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    const other = await post(bob, { type: 'paid', data: { n: 2 } });
    expect(other.status).toBe(201);
    expect((other.body as { event: { user: string; id: string } }).event).toMatchObject({ user: 'bob' });
    const reused = await post(ada, { type: 'paid', data: { n: 99 } });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });
  });

  it('an SSE stream ends with forbidden once the collaborator is removed', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const owner = await token('olive', { rooms: { 'team/*': 'owner' } });
    await api(server.httpUrl, 'POST', '/v1/rooms/team%2Fdoc/events', { token: owner, body: { type: 'x' } });
    await api(server.httpUrl, 'PUT', '/v1/rooms/team%2Fdoc/collaborators/cat', {
      token: owner,
      body: { role: 'viewer' },
    });
    const cat = await token('cat', { rooms: {} });
    const s = stream('/v1/rooms/team%2Fdoc/events/stream', bearer(cat));
    await eventually(() => expect(s.events.some((e) => e.event === 'x')).toBe(true));
    expect(
      (await api(server.httpUrl, 'DELETE', '/v1/rooms/team%2Fdoc/collaborators/cat', { token: owner })).status,
    ).toBe(204);
    await s.done;
    expect(s.events.at(-1)).toMatchObject({ event: 'error', data: { error: { code: 'forbidden' } } });
    // Nothing after the removal reaches it.
    await api(server.httpUrl, 'POST', '/v1/rooms/team%2Fdoc/events', { token: owner, body: { type: 'secret' } });
    expect(s.events.some((e) => e.event === 'secret')).toBe(false);
  });

  it('an SSE stream ends with unauthenticated when its token expires', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const short = await token('ada', { ttl: '2s' });
    await api(server.httpUrl, 'POST', '/v1/rooms/exp/events', { token: short, body: { type: 'x' } });
    const s = stream('/v1/rooms/exp/events/stream', bearer(short));
    await eventually(() => expect(s.events.some((e) => e.event === 'x')).toBe(true));
    await s.done;
    expect(s.events.at(-1)).toMatchObject({ event: 'error', data: { error: { code: 'unauthenticated' } } });
  });

  it('keeps the newest --event-retention events; a poll or SSE resume from before them is told', async () => {
    server = await startTestServer({ eventRetention: 10 });
    for (let i = 1; i <= 30; i++) {
      expect((await api(server.httpUrl, 'POST', '/v1/rooms/ret/events', { body: { type: 'n', data: i } })).status).toBe(
        201,
      );
    }
    await eventually(async () => expect(await server.store.eventHorizon('ret')).toBe(20));
    const kept = await api(server.httpUrl, 'GET', '/v1/rooms/ret/events?since=0&limit=100');
    const ids = (kept.body as { events: { id: string }[] }).events.map((e) => Number(e.id));
    expect(ids.length).toBeLessThanOrEqual(11);
    expect(ids.at(-1)).toBe(30);
    const behind = await api(server.httpUrl, 'GET', '/v1/rooms/ret/events?since=5');
    expect(behind.status).toBe(410);
    expect(behind.body).toMatchObject({
      error: { code: 'events_expired', message: expect.stringMatching(/since=20/) },
    });
    expect((await api(server.httpUrl, 'GET', '/v1/rooms/ret/events?since=20')).status).toBe(200);
    const s = stream('/v1/rooms/ret/events/stream', { 'last-event-id': '5' });
    await eventually(() => expect(s.events.some((e) => e.event === 'n' && e.id === '30')).toBe(true));
    expect(s.events[0]).toMatchObject({
      event: 'error',
      data: { error: { code: 'events_expired' }, resumeFrom: '20' },
    });
    expect(s.events.filter((e) => e.event === 'n').map((e) => Number(e.id))[0]).toBe(21);
  });

  it('SSE streams count against --max-connections-per-ip with sockets', async () => {
    server = await startTestServer({ maxConnectionsPerIp: 2 });
    await api(server.httpUrl, 'POST', '/v1/rooms/ip/events', { body: { type: 'x' } });
    const a = stream('/v1/rooms/ip/events/stream');
    const b = stream('/v1/rooms/ip/events/stream');
    await eventually(() => expect(a.events.length + b.events.length).toBe(2));
    const third = await api(server.httpUrl, 'GET', '/v1/rooms/ip/events/stream');
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ error: { code: 'too_many_connections' } });
    a.close();
    await a.done;
    await eventually(async () => {
      const again = stream('/v1/rooms/ip/events/stream');
      await eventually(() => expect(again.status).toBe(200));
    });
  });
});
