import type { EventEnvelope } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../../server/src/server.js';
import { api, devUser } from '../../server/test/support/auth.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import { PublishError, type TandemProvider } from '../src/index.js';
import { provider } from './support.js';

describe('TandemProvider events', () => {
  let server: TandemServer;
  const open = (room: string, user: string, options: Parameters<typeof provider>[2] = {}): TandemProvider => {
    const p = provider(server.syncUrl, room, { params: { user }, ...options });
    return p;
  };
  const collect = (p: TandemProvider, type = '*'): EventEnvelope[] => {
    const seen: EventEnvelope[] = [];
    p.events.on(type, (e) => seen.push(e));
    return seen;
  };
  const appTypes = (events: EventEnvelope[]): string[] =>
    events.filter((e) => !e.type.startsWith('collab.')).map((e) => e.type);
  const rest = (room: string, type: string, user = 'rita') =>
    api(server.httpUrl, 'POST', `/v1/rooms/${room}/events`, { headers: devUser(user), body: { type } });

  it('events sent over the socket and over REST reach another client once each', async () => {
    server = await startTestServer({ devAuth: true });
    const sender = open('ev', 'sam');
    const receiver = open('ev', 'rae');
    const got = collect(receiver);
    const echoed = collect(sender);
    await Promise.all([sender.whenSynced(), receiver.whenSynced()]);
    const stored = await sender.events.send('socket.note', { n: 1 });
    expect(stored).toMatchObject({ type: 'socket.note', user: 'sam', room: 'ev', data: { n: 1 } });
    expect((await rest('ev', 'rest.note')).status).toBe(201);
    await eventually(() => expect(appTypes(got)).toEqual(['socket.note', 'rest.note']));
    await eventually(() => expect(appTypes(echoed)).toEqual(['socket.note', 'rest.note']));
  });

  it('events posted while a client was away arrive after it reconnects, once and in order', async () => {
    server = await startTestServer({ devAuth: true });
    const p = open('away', 'ann');
    const got = collect(p);
    await p.whenSynced();
    await rest('away', 'before');
    await eventually(() => expect(appTypes(got)).toEqual(['before']));
    p.disconnect();
    await eventually(() => expect(p.status).toBe('offline'));
    for (const type of ['gone-1', 'gone-2', 'gone-3']) await rest('away', type);
    p.connect();
    await eventually(() => expect(appTypes(got)).toEqual(['before', 'gone-1', 'gone-2', 'gone-3']));
    await rest('away', 'after');
    await eventually(() => expect(appTypes(got)).toEqual(['before', 'gone-1', 'gone-2', 'gone-3', 'after']));
    const ids = got.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a publish made while offline is sent on reconnect and stored once', async () => {
    server = await startTestServer({ devAuth: true });
    const p = open('queued', 'quinn');
    await p.whenSynced();
    p.disconnect();
    await eventually(() => expect(p.status).toBe('offline'));
    const sent = p.events.send('later', { ok: true });
    p.connect();
    expect(await sent).toMatchObject({ type: 'later' });
    const listed = await api(server.httpUrl, 'GET', '/v1/rooms/queued/events?since=0', { headers: devUser('quinn') });
    expect(appTypes((listed.body as { events: EventEnvelope[] }).events)).toEqual(['later']);
  });

  it('a viewer cannot send events', async () => {
    server = await startTestServer({ devAuth: true });
    const viewer = open('ro', 'vic', { params: { user: 'vic', role: 'viewer' } });
    await viewer.whenSynced();
    const refused = await viewer.events.send('nope').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(PublishError);
    expect((refused as PublishError).code).toBe('read_only');
  });

  it('an events-and-presence room (no doc): live events, presence and catch-up', async () => {
    server = await startTestServer({ devAuth: true });
    const a = open('feed', 'amy', { doc: null });
    const b = open('feed', 'ben', { doc: null });
    const got = collect(a);
    await eventually(() => expect(a.status === 'live' && b.status === 'live').toBe(true));
    b.awareness.setLocalStateField('name', 'Ben');
    await eventually(() =>
      expect([...a.awareness.getStates().values()]).toContainEqual(expect.objectContaining({ name: 'Ben' })),
    );
    await b.events.send('feed.item', { n: 1 });
    await eventually(() => expect(appTypes(got)).toEqual(['feed.item']));
    a.disconnect();
    await eventually(() => expect(a.status).toBe('offline'));
    await b.events.send('feed.item2');
    a.connect();
    await eventually(() => expect(appTypes(got)).toEqual(['feed.item', 'feed.item2']));
    expect(a.doc).toBeNull();
  });
});
