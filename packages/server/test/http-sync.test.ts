import { decodeMessage, encodeSyncStep1, encodeSyncUpdate, type Message } from '@tandem/protocol';
import { afterEach, describe, expect, it } from 'vitest';
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

function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

describe('HTTP sync transport (server)', () => {
  let server: TandemServer | null = null;
  const streams: SseClient[] = [];
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await server?.drain();
    server = null;
  });
  const stream = (room: string, session: string, headers: Record<string, string> = {}): SseClient => {
    const s = new SseClient(
      `${server!.httpUrl}/v1/sync/${encodeURIComponent(room)}/stream?session=${session}`,
      headers,
    );
    streams.push(s);
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
