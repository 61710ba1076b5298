import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../../server/src/server.js';
import { api, SECRET, token } from '../../server/test/support/auth.js';
import { ControllableStore } from '../../server/test/support/controllable-store.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import { stockProvider } from '../../server/test/support/stock-provider.js';
import type { EventEnvelope } from '@tandem/protocol';
import type { ConnectionStatus, TandemProvider, TandemProviderOptions, Transport } from '../src/index.js';
import { NetworkProxy } from './network-proxy.js';
import { provider } from './support.js';

// Short timers so each switch happens within a test's budget.
const fast: Partial<TandemProviderOptions> = {
  fallback: { afterFailures: 2, pollIntervalMs: 150, streamOpenTimeoutMs: 400, probeBaseMs: 200, probeMaxMs: 400 },
};

describe('HTTP fallback transport', () => {
  let server: TandemServer | null = null;
  let proxy: NetworkProxy | null = null;

  async function setUp(config: Parameters<typeof startTestServer>[0] = {}, store?: ControllableStore): Promise<void> {
    server = await startTestServer(config, store ? { store } : {});
    proxy = await NetworkProxy.start(server.port);
  }
  const open = (room: string, options: Partial<TandemProviderOptions> = {}): TandemProvider => {
    const p = provider(proxy!.syncUrl, room, { ...fast, ...options });
    return p;
  };
  const stock = (room: string) => {
    const s = stockProvider(server!.syncUrl, room);
    return s;
  };
  const history = (p: TandemProvider) => {
    const statuses: ConnectionStatus[] = [p.status];
    const transports: Transport[] = [];
    p.on('status', (s) => statuses.push(s));
    p.on('transport', (t) => transports.push(t));
    return { statuses, transports };
  };
  const eventIds = (p: TandemProvider): string[] => {
    const ids: string[] = [];
    p.events.on('note', (e: EventEnvelope) => ids.push(e.id));
    return ids;
  };

  it('blocked upgrades: falls back, syncs both ways with a stock client, presence both ways, events once, saved only on ack', async () => {
    const store = new ControllableStore();
    await setUp({}, store);
    proxy!.blockUpgrades = true;
    const p = open('blocked');
    const seen = history(p);
    const ids = eventIds(p);
    await eventually(() => expect(p.status).toBe('fallback'));
    await p.whenSynced();
    expect(proxy!.upgradesRefused).toBeGreaterThanOrEqual(2);
    expect(p.transport).toBe('http-stream');
    expect(seen.statuses).toContain('fallback');
    expect(seen.statuses).not.toContain('live');

    const s = stock('blocked');
    await new Promise<void>((resolve) => s.once('sync', () => resolve()));
    p.doc!.getText('t').insert(0, 'from fallback ');
    await eventually(() => expect(s.doc.getText('t').toString()).toBe('from fallback '));
    s.doc.getText('t').insert(s.doc.getText('t').length, 'from stock');
    await eventually(() => expect(p.doc!.getText('t').toString()).toBe('from fallback from stock'));

    p.presence.setUser({ id: 'ada', name: 'Ada' });
    s.awareness.setLocalStateField('user', { id: 'bob', name: 'Bob' });
    await eventually(() => expect([...s.awareness.getStates().values()].map((v) => v.user?.name)).toContain('Ada'));
    await eventually(() => expect(p.presence.others().map((o) => o.user.name)).toContain('Bob'));

    // An app event posted over REST, and one sent by the fallback client itself: each arrives once.
    await api(server!.httpUrl, 'POST', '/v1/rooms/blocked/events', { body: { type: 'note', data: { n: 1 } } });
    const sent = await p.events.send('note', { n: 2 });
    await eventually(() => expect(ids).toHaveLength(2));
    expect(ids).toContain(sent.id);
    await new Promise((r) => setTimeout(r, 300));
    expect(new Set(ids).size).toBe(2);
    expect(ids).toHaveLength(2);

    // Durable acks over HTTP: applied and broadcast, but not saved until the store commits.
    await p.whenSaved();
    store.hold();
    p.doc!.getText('t').insert(0, '!');
    await eventually(() => expect(s.doc.getText('t').toString()).toBe('!from fallback from stock'));
    expect(p.saveState).toBe('saving');
    await new Promise((r) => setTimeout(r, 200));
    expect(p.saveState).toBe('saving');
    store.release();
    await p.whenSaved();
    expect(p.saveState).toBe('saved');
    expect(proxy!.requests.some((r) => r.startsWith('POST /v1/sync/blocked/messages'))).toBe(true);
  });

  it('returns to live by itself once upgrades work again, with nothing lost or duplicated', async () => {
    await setUp();
    proxy!.blockUpgrades = true;
    const p = open('comeback');
    const seen = history(p);
    const ids = eventIds(p);
    await eventually(() => expect(p.status).toBe('fallback'));
    const s = stock('comeback');
    const text = p.doc!.getText('t');
    for (let i = 0; i < 20; i++) text.insert(text.length, 'a');
    await p.events.send('note', { before: true });

    proxy!.blockUpgrades = false;
    // Edits from both sides keep flowing while the switch happens.
    for (let i = 0; i < 20; i++) {
      text.insert(text.length, 'b');
      s.doc.getText('t').insert(0, 'c');
      await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(() => expect(p.status).toBe('live'), 10_000);
    expect(p.transport).toBe('websocket');
    expect(seen.transports).toEqual(['http-stream', 'websocket']);
    await p.events.send('note', { after: true });
    await api(server!.httpUrl, 'POST', '/v1/rooms/comeback/events', { body: { type: 'note' } });
    await p.whenSaved();
    await eventually(() => expect(p.doc!.getText('t').toString()).toBe(s.doc.getText('t').toString()));
    const expected = 'c'.repeat(20) + 'a'.repeat(20) + 'b'.repeat(20);
    expect(p.doc!.getText('t').toString()).toBe(expected);
    // The server stored each change exactly once: its document is the same text, not a doubled one.
    await eventually(() => expect(server!.registry.get('comeback')!.doc.getText('t').toString()).toBe(expected));
    await eventually(() => expect(ids).toHaveLength(3));
    await new Promise((r) => setTimeout(r, 300));
    expect(new Set(ids).size).toBe(3);
    expect(ids).toHaveLength(3);
    // The HTTP session was closed on the switch, not left to time out.
    await eventually(() =>
      expect(server!.metrics.httpSessions.get()).resolves.toMatchObject({ values: [{ value: 0 }] }),
    );
  });

  it('returning to WebSocket is seamless to others: presence never drops, no left/joined events', async () => {
    await setUp({ jwtSecret: SECRET });
    const bob = provider(server!.syncUrl, 'seamless', { ...fast, token: await token('bob') });
    bob.doc!.getText('t').insert(0, 'the room exists, so joins and leaves are recorded');
    await bob.whenSaved();
    const userEvents: string[] = [];
    for (const type of ['collab.user_joined', 'collab.user_left']) {
      bob.events.on(type, (e: EventEnvelope) => userEvents.push(`${e.type.slice(7)} ${e.user}`));
    }
    proxy!.blockUpgrades = true;
    const ada = open('seamless', { token: await token('ada') });
    await eventually(() => expect(ada.status).toBe('fallback'));
    ada.presence.setUser({ id: 'ada', name: 'Ada' });
    const adaAt = (p: TandemProvider) => p.presence.others().find((o) => o.user.id === 'ada');
    await eventually(() => expect(adaAt(bob)?.user.name).toBe('Ada'));
    await eventually(() => expect(userEvents).toEqual(['user_joined ada']));
    const bobSaw: string[] = [];
    bob.awareness.on('change', ({ removed }: { removed: number[] }) => {
      if (removed.includes(ada.awareness.clientID)) bobSaw.push('ada removed');
    });
    const notes: EventEnvelope[] = [];
    bob.events.on('note', (e: EventEnvelope) => notes.push(e));

    proxy!.blockUpgrades = false;
    await eventually(() => expect(ada.transport).toBe('websocket'), 10_000);
    // The HTTP session is closed once the WebSocket synced (not left to time out)…
    await eventually(() =>
      expect(server!.metrics.httpSessions.get()).resolves.toMatchObject({ values: [{ value: 0 }] }),
    );
    // …and what the server sends bob after that arrives after anything its closing caused.
    ada.presence.setUser({ id: 'ada', name: 'Ada on WebSocket' });
    await ada.events.send('note', { barrier: true });
    await eventually(() => expect(adaAt(bob)?.user.name).toBe('Ada on WebSocket'));
    await eventually(() => expect(notes).toHaveLength(1));
    expect(bobSaw).toEqual([]);
    expect(userEvents).toEqual(['user_joined ada']);
    // The WebSocket owns the presence now: when ada really leaves, bob sees her go, with the event.
    ada.destroy();
    await eventually(() => expect(adaAt(bob)).toBeUndefined());
    expect(bobSaw).toEqual(['ada removed']);
    await eventually(() => expect(userEvents).toEqual(['user_joined ada', 'user_left ada']));
  });

  it('an event stream cut mid-way resumes from Last-Event-ID and misses nothing', async () => {
    await setUp();
    proxy!.blockUpgrades = true;
    const p = open('cut');
    await eventually(() => expect(p.status).toBe('fallback'));
    await p.whenSynced();
    const reconnects = p.getDiagnostics().reconnects;
    const s = stock('cut');
    await new Promise<void>((resolve) => s.once('sync', () => resolve()));
    for (let round = 0; round < 3; round++) {
      proxy!.cutStreams();
      s.doc.getText('t').insert(s.doc.getText('t').length, `${round}`);
    }
    await eventually(() => expect(p.doc!.getText('t').toString()).toBe('012'));
    expect(proxy!.resumedFrom.length).toBeGreaterThanOrEqual(1);
    expect(Number(proxy!.resumedFrom[0])).toBeGreaterThan(0);
    // Resumed within the same session: the provider never saw a reconnect.
    expect(p.getDiagnostics().reconnects).toBe(reconnects);
    expect(p.status).toBe('fallback');
  });

  it('a proxy that buffers the event stream: ends up polling and still converges', async () => {
    await setUp();
    proxy!.blockUpgrades = true;
    proxy!.bufferEventStreams = true;
    const p = open('buffered');
    await eventually(() => expect(p.status).toBe('fallback'));
    expect(p.polling).toBe(true);
    expect(p.getDiagnostics().transport).toBe('http-polling');
    await p.whenSynced();
    const s = stock('buffered');
    s.doc.getText('t').insert(0, 'stock ');
    p.doc!.getText('t').insert(0, 'polled ');
    await eventually(() => expect(p.doc!.getText('t').toString()).toBe(s.doc.getText('t').toString()), 3_000);
    expect(p.doc!.getText('t').length).toBe('stock polled '.length);
    await p.whenSaved();
    expect(p.saveState).toBe('saved');
  });

  it('a viewer over HTTP cannot write', async () => {
    await setUp({ jwtSecret: SECRET });
    proxy!.blockUpgrades = true;
    const owner = open('view', { token: await token('olga', { rooms: { view: 'owner' } }) });
    await eventually(() => expect(owner.status).toBe('fallback'));
    owner.doc!.getText('t').insert(0, 'owned');
    await owner.whenSaved();
    const viewer = open('view', { token: await token('vic', { rooms: { view: 'viewer' } }) });
    await eventually(() => expect(viewer.status).toBe('fallback'));
    await viewer.whenSynced();
    expect(viewer.readOnly).toBe(true);
    expect(viewer.doc!.getText('t').toString()).toBe('owned');
    viewer.doc!.getText('t').insert(0, 'vandal ');
    owner.doc!.getText('t').insert(5, '!');
    await eventually(() => expect(viewer.doc!.getText('t').toString()).toContain('!'));
    await owner.whenSaved();
    expect(server!.registry.get('view')!.doc.getText('t').toString()).toBe('owned!');
    expect(owner.doc!.getText('t').toString()).toBe('owned!');
  });

  it('a token that expires over HTTP ends the session with the socket code (4401), and is refused after', async () => {
    await setUp({ jwtSecret: SECRET });
    proxy!.blockUpgrades = true;
    const short = await token('ada', { ttl: '2s' });
    const p = open('r', { token: short });
    await eventually(() => expect(p.status).toBe('fallback'));
    const closes: number[] = [];
    p.on('status', () => closes.push(p.getDiagnostics().lastClose!.code));
    // The server ends the live session at expiry; the retry with the same (string) token is refused.
    await eventually(() => expect(p.status).toBe('failed'), 6_000);
    expect(closes[0]).toBe(4401);
    expect(p.getDiagnostics().lastClose?.code).toBe(4401);
    expect(p.transport).not.toBe('websocket');
    // A request with a token that does not verify gets the same code as an HTTP answer.
    const stream = await fetch(`${server!.httpUrl}/v1/sync/r/stream?session=${'a'.repeat(32)}`, {
      headers: { authorization: `Bearer ${short}x` },
    });
    expect(stream.status).toBe(401);
    expect(await stream.json()).toMatchObject({ error: { code: 'unauthenticated', closeCode: 4401 } });
  });

  it('a fallback session that goes silent is expired and its presence removed', async () => {
    await setUp({ httpSessionTimeoutMs: 300 });
    const s = stock('silent');
    await new Promise<void>((resolve) => s.once('sync', () => resolve()));
    // A client that joins over HTTP with presence, then vanishes without closing its session.
    const doc = new Y.Doc();
    const { Awareness, encodeAwarenessUpdate } = await import('y-protocols/awareness');
    const { encodeAwareness } = await import('@tandem/protocol');
    const awareness = new Awareness(doc);
    awareness.setLocalStateField('user', { name: 'Ghost' });
    const frame = encodeAwareness(encodeAwarenessUpdate(awareness, [doc.clientID]));
    const res = await fetch(`${server!.httpUrl}/v1/sync/silent/messages?session=${'g'.repeat(32)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [Buffer.from(frame).toString('base64')] }),
    });
    expect(res.status).toBe(200);
    const names = () => [...s.awareness.getStates().values()].map((v) => v.user?.name);
    await eventually(() => expect(names()).toContain('Ghost'));
    await eventually(() => expect(names()).not.toContain('Ghost'), 5_000);
    // The session is gone for good: a late request learns why instead of starting a new one.
    const late = await fetch(`${server!.httpUrl}/v1/sync/silent/messages?session=${'g'.repeat(32)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [] }),
    });
    expect(late.status).toBe(408);
    expect(await late.json()).toMatchObject({ error: { code: 'heartbeat_timeout' } });
    awareness.destroy();
  });
});
