import {
  decodeMessage,
  encodeAwareness,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncUpdate,
  type Message,
} from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { TandemServer } from '../src/server.js';
import { api, SECRET, token } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { SseClient } from './support/sse.js';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const decode = (data: unknown): Message => decodeMessage(new Uint8Array(Buffer.from(data as string, 'base64')));
let nextSession = 0;
const newSession = (): string => `session-${String(++nextSession).padStart(8, '0')}-${Date.now()}`;

/** A client's presence: each call publishes its state with the next clock. */
function presenceOf(clientId: number): { frame: (state: Record<string, unknown> | null) => string; close(): void } {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  const awareness = new awarenessProtocol.Awareness(doc);
  return {
    frame: (state) => {
      if (state === null) awarenessProtocol.removeAwarenessStates(awareness, [clientId], 'test');
      else awareness.setLocalState(state);
      return b64(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, [clientId])));
    },
    close: () => awareness.destroy(),
  };
}

type Polled = { messages: { id: number; data: string }[] };

function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

describe('HTTP sync transport (server)', () => {
  let server: TandemServer | null = null;
  const stream = (room: string, session: string, headers: Record<string, string> = {}): SseClient => {
    const s = new SseClient(
      `${server!.httpUrl}/v1/sync/${encodeURIComponent(room)}/stream?session=${session}`,
      headers,
    );
    return s;
  };
  const post = (room: string, session: string, body: object, authToken?: string) =>
    api(server!.httpUrl, 'POST', `/v1/sync/${encodeURIComponent(room)}/messages?session=${session}`, {
      body,
      token: authToken,
    });
  const messages = (s: SseClient) => s.events.filter((e) => e.event === 'message');

  it('streams the session’s messages numbered from 1, after an open event; POSTs are applied in order', async () => {
    server = await startTestServer();
    const session = newSession();
    const s = stream('team/a', session);
    await eventually(() => expect(s.events[0]).toMatchObject({ event: 'open', data: { session } }));
    const sent = await post('team/a', session, {
      messages: [b64(encodeSyncStep1(new Uint8Array([0]))), b64(encodeSyncUpdate(textUpdate('over http')))],
    });
    expect(sent).toMatchObject({ status: 200, body: { messages: [] } });
    await eventually(() => expect(server!.registry.get('team/a')?.doc.getText('t').toString()).toBe('over http'));
    await eventually(() => expect(messages(s).map((e) => decode(e.data).type)).toContain('ack'));
    const ids = messages(s).map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const types = messages(s).map((e) => decode(e.data).type);
    expect(types[0]).toBe('status');
    expect(types).toContain('sync-step2');
    expect((await server!.metrics.httpSessions.get()).values[0]!.value).toBe(1);
  });

  it('a stream resumed with Last-Event-ID gets only what came after it; a poll gets what came after `received`', async () => {
    server = await startTestServer();
    const session = newSession();
    const first = stream('resume', session);
    await eventually(() => expect(messages(first).length).toBeGreaterThanOrEqual(1));
    await post('resume', session, { messages: [b64(encodeSyncUpdate(textUpdate('x')))] });
    await eventually(() => expect(messages(first).map((e) => decode(e.data).type)).toContain('ack'));
    const seen = messages(first).length;
    first.close();
    // Sent while no stream is attached: kept for the client.
    await post('resume', session, { messages: [b64(encodeSyncUpdate(textUpdate('y')))] });
    const polled = await post('resume', session, { messages: [], received: seen, poll: true });
    const pending = (polled.body as { messages: { id: number; data: string }[] }).messages;
    expect(pending.length).toBeGreaterThanOrEqual(1);
    expect(pending[0]!.id).toBe(seen + 1);
    expect(decode(pending.at(-1)!.data).type).toBe('ack');
    const second = stream('resume', session, { 'last-event-id': String(seen) });
    await eventually(() => expect(messages(second).length).toBe(pending.length));
    expect(messages(second).map((e) => Number(e.id))).toEqual(pending.map((m) => m.id));
  });

  it('refuses malformed batches and foreign sessions with coded errors', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const ada = await token('ada');
    const bob = await token('bob');
    const session = newSession();
    expect(await post('r', session, { messages: [] }, ada)).toMatchObject({ status: 200 });
    expect(await post('r', session, { messages: ['not base64!'] }, ada)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    expect(await post('r', session, { messages: [] }, bob)).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden', closeCode: 4403 } },
    });
    expect(await post('other', session, { messages: [] }, ada)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    expect(await post('r', 'short', { messages: [] }, ada)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    // Garbage that decodes as base64 but not as a protocol message ends the session like a socket's.
    const broken = await post('r', session, { messages: [b64(new Uint8Array([0, 9, 9]))] }, ada);
    expect(broken).toMatchObject({ status: 400, body: { error: { code: 'protocol_error', closeCode: 1002 } } });
    expect(await post('r', session, { messages: [] }, ada)).toMatchObject({
      status: 400,
      body: { error: { code: 'protocol_error' } },
    });
  });

  it('a request with a newer credential re-checks the role: a viewer token turns the session read-only', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const session = newSession();
    const editor = await token('ada', { rooms: { r: 'editor' }, ttl: '1h' });
    const viewer = await token('ada', { rooms: { r: 'viewer' }, ttl: '2h' });
    await post('r', session, { messages: [] }, editor);
    await eventually(() => expect(server!.registry.get('r')?.peerCount).toBe(1));
    await post('r', session, { messages: [] }, viewer);
    await eventually(async () => {
      const polled = await post('r', session, { messages: [], poll: true }, viewer);
      const statuses = (polled.body as { messages: { data: string }[] }).messages
        .map((m) => decode(m.data))
        .filter((m) => m.type === 'status');
      expect(statuses.at(-1)).toMatchObject({ status: { readOnly: true } });
    });
  });

  it('close: true ends the session at once: presence gone, later requests told session_closed', async () => {
    server = await startTestServer();
    const session = newSession();
    expect(await post('bye', session, { messages: [] })).toMatchObject({ status: 200 });
    await eventually(() => expect(server!.registry.get('bye')?.peerCount).toBe(1));
    expect(await post('bye', session, { close: true })).toMatchObject({ status: 200 });
    await eventually(() => expect(server!.registry.get('bye')?.peerCount ?? 0).toBe(0));
    expect(await post('bye', session, { messages: [] })).toMatchObject({
      status: 410,
      body: { error: { code: 'session_closed', closeCode: 1000 } },
    });
    expect((await server!.metrics.httpSessions.get()).values[0]!.value).toBe(0);
  });

  it('the same rate limit as a socket: a flood ends the session with 4429', async () => {
    server = await startTestServer({ maxUpdatesPerSecond: 5, updateBurst: 5 });
    const session = newSession();
    await post('flood', session, { messages: [] });
    await eventually(() => expect(server!.registry.get('flood')?.peerCount).toBe(1));
    const flood = Array.from({ length: 20 }, (_, i) => b64(encodeSyncUpdate(textUpdate(String(i)))));
    const res = await post('flood', session, { messages: flood });
    expect(res).toMatchObject({ status: 429, body: { error: { code: 'rate_limited', closeCode: 4429 } } });
  });

  describe('bounded amplification', () => {
    /** A room holding `chars` of text, and a session that asked for all of it with a sync step 1. */
    async function bigRoomReader(room: string, chars: number): Promise<string> {
      const writer = newSession();
      await post(room, writer, { messages: [b64(encodeSyncUpdate(textUpdate('x'.repeat(chars))))] });
      await eventually(() => expect(server!.registry.get(room)?.doc.getText('t').length).toBe(chars));
      const reader = newSession();
      await post(room, reader, { messages: [b64(encodeSyncStep1(new Uint8Array([0])))] });
      return reader;
    }

    it('a poll that never confirms gets the same messages at most 4 times, then resend_limit (4429)', async () => {
      server = await startTestServer();
      const reader = await bigRoomReader('polled', 300_000);
      const answers: { status: number; body: unknown }[] = [];
      for (let i = 0; i < 6; i++) answers.push(await post('polled', reader, { poll: true, received: 0 }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429]);
      expect(answers[4]!.body).toMatchObject({ error: { code: 'resend_limit', closeCode: 4429 } });
      const sent = answers.slice(0, 4).map((a) => (a.body as Polled).messages.reduce((n, m) => n + m.data.length, 0));
      // Each answer carried the whole document once (300 KB as base64), and nothing grew.
      for (const chars of sent) expect(chars).toBeGreaterThan(400_000);
      expect(Math.max(...sent)).toBe(Math.min(...sent));
      // The session is over: its peer left the room, and nothing is held for it any more (what is
      // left is the writer's session's own status and ack, a few bytes).
      await eventually(() => expect(server!.registry.get('polled')?.peerCount).toBe(1));
      expect((await server!.metrics.httpBufferedBytes.get()).values[0]!.value).toBeLessThan(200);
    });

    it('a stream re-attached from Last-Event-ID 0 again and again is ended with resend_limit', async () => {
      server = await startTestServer();
      const reader = await bigRoomReader('restream', 100_000);
      const got: number[] = [];
      for (let i = 0; i < 4; i++) {
        const s = stream('restream', reader, { 'last-event-id': '0' });
        await eventually(() => expect(messages(s).some((e) => decode(e.data).type === 'sync-step2')).toBe(true));
        got.push(messages(s).length);
        s.close();
      }
      const fifth = stream('restream', reader, { 'last-event-id': '0' });
      await eventually(() =>
        expect(fifth.events.at(-1)).toMatchObject({
          event: 'close',
          data: { error: { code: 'resend_limit', closeCode: 4429 } },
        }),
      );
      expect(messages(fifth).map((e) => decode(e.data).type)).toEqual(['error']);
      expect(got.every((n) => n === got[0])).toBe(true);
    });

    it('a reader that confirms as it goes is never limited, however long the session', async () => {
      server = await startTestServer();
      const session = newSession();
      const other = presenceOf(77);
      const writer = newSession();
      let received = 0;
      for (let i = 0; i < 12; i++) {
        await post('steady', writer, {
          messages: [b64(encodeSyncUpdate(textUpdate(`edit ${i}`))), other.frame({ i })],
        });
        const polled = await post('steady', session, { poll: true, received });
        expect(polled.status).toBe(200);
        received = Math.max(received, ...(polled.body as Polled).messages.map((m) => m.id));
      }
      other.close();
    });

    it('presence is not kept per session: a session that never confirms holds no presence frames', async () => {
      server = await startTestServer();
      const idle = newSession();
      await post('presence', idle, { messages: [b64(encodeSyncStep1(new Uint8Array([0])))] });
      const held = async () => (await server!.metrics.httpBufferedBytes.get()).values[0]!.value;
      const before = await held();
      const someone = presenceOf(42);
      const writer = newSession();
      const padding = 'p'.repeat(200);
      for (let i = 0; i < 30; i++) {
        // One request each: every change is its own flush and its own presence frame.
        await post('presence', writer, { messages: [someone.frame({ i, padding })] });
      }
      const seen = new awarenessProtocol.Awareness(new Y.Doc());
      const catchUp = async (received: number): Promise<number> => {
        const polled = await post('presence', idle, { poll: true, received });
        const answer = (polled.body as Polled).messages;
        const presence = answer.map((m) => decode(m.data)).filter((m) => m.type === 'awareness');
        // One catch-up with the latest state, not one frame per change.
        expect(presence).toHaveLength(1);
        awarenessProtocol.applyAwarenessUpdate(seen, (presence[0] as Message & { update: Uint8Array }).update, null);
        return Math.max(...answer.map((m) => m.id));
      };
      const confirmed = await catchUp(0);
      expect(seen.getStates().get(42)).toMatchObject({ i: 29 });
      // What the writer's session holds (its own frames) and the idle one's: no presence among them.
      expect((await held()) - before).toBeLessThan(2_000);
      // A removal is caught up on like any change, from the version the client confirmed.
      await post('presence', writer, { messages: [someone.frame(null)] });
      await catchUp(confirmed);
      expect(seen.getStates().has(42)).toBe(false);
      seen.destroy();
      someone.close();
    });

    it('sync step 1 and presence queries are throttled as on a socket: 4 answered at once, not 20', async () => {
      server = await startTestServer();
      const session = newSession();
      const someone = presenceOf(5);
      await post('asks', newSession(), { messages: [someone.frame({ here: true })] });
      const asks = Array.from({ length: 20 }, () => b64(encodeSyncStep1(new Uint8Array([0]))));
      const queries = Array.from({ length: 20 }, () => b64(encodeQueryAwareness()));
      await post('asks', session, { messages: [...asks, ...queries] });
      const polled = await post('asks', session, { poll: true, received: 0 });
      const types = (polled.body as Polled).messages.map((m) => decode(m.data).type);
      expect(types.filter((t) => t === 'sync-step2')).toHaveLength(4);
      // Four answers to the queries, plus the catch-up every new session gets.
      expect(types.filter((t) => t === 'awareness')).toHaveLength(5);
      someone.close();
    });

    it('tandem_http_buffered_bytes counts what sessions hold until confirmed', async () => {
      server = await startTestServer();
      const reader = await bigRoomReader('gauge', 50_000);
      const held = async () => (await server!.metrics.httpBufferedBytes.get()).values[0]!.value;
      await eventually(async () => expect(await held()).toBeGreaterThan(50_000));
      const polled = await post('gauge', reader, { poll: true, received: 0 });
      const last = Math.max(...(polled.body as Polled).messages.map((m) => m.id));
      await post('gauge', reader, { received: last });
      // Left: the writer's session's unconfirmed status and acks, a few bytes.
      expect(await held()).toBeLessThan(200);
      const text = await server!.metrics.registry.metrics();
      expect(text).toMatch(/^tandem_http_buffered_bytes \d+$/m);
      expect(text).toMatch(/^tandem_http_sessions 2$/m);
    });
  });

  it('a drain ends open streams with a close event carrying 1012', async () => {
    server = await startTestServer();
    const session = newSession();
    const s = stream('drain', session);
    await eventually(() => expect(messages(s).length).toBeGreaterThanOrEqual(1));
    const drained = server.drain();
    await eventually(() =>
      expect(s.events.at(-1)).toMatchObject({ event: 'close', data: { error: { code: 'draining', closeCode: 1012 } } }),
    );
    await drained;
    server = null;
  });
});
