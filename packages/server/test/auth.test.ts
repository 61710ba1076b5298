import { encodeAwareness } from '@tandem/protocol';
import { SignJWT, UnsecuredJWT } from 'jose';
import * as awarenessProtocol from 'y-protocols/awareness';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { parseConfig, type ConfigInput } from '../src/ops/config.js';
import type { TandemServer } from '../src/server.js';
import { api, SECRET, token } from './support/auth.js';
import { ControllableStore } from './support/controllable-store.js';
import { eventually } from './support/eventually.js';
import { storedDoc } from './support/stored-doc.js';
import { startTestServer, tempDir } from './support/server.js';
import { stockProvider } from './support/stock-provider.js';
import { connectPeer, TestPeer, type TestPeerOptions } from './support/test-peer.js';

const key = new TextEncoder().encode(SECRET);
const now = (): number => Math.floor(Date.now() / 1000);
const jwt = (claims: Record<string, unknown> = {}) =>
  new SignJWT({ rooms: { '**': 'editor' }, ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject('ada');

describe('JWT auth on the socket', () => {
  let server: TandemServer;
  const start = async (config: ConfigInput = {}): Promise<void> => {
    server = await startTestServer({ jwtSecret: SECRET, ...config });
  };
  const open = (room: string, options: TestPeerOptions & { query?: string } = {}): TestPeer => {
    const peer = new TestPeer(`${server.syncUrl}/${room}${options.query ?? ''}`, options);
    return peer;
  };
  /** Asserts the refusal arrived before any document data. */
  async function expectRefused(peer: TestPeer, code: number, reason: RegExp): Promise<void> {
    const closed = await peer.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason).toMatch(reason);
    expect(peer.types.filter((t) => t.startsWith('sync') || t === 'awareness')).toEqual([]);
  }

  it.each([
    ['missing token', async () => '', /missing token/],
    [
      'forged signature',
      async () =>
        jwt()
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('x'.repeat(40))),
      /signature/,
    ],
    [
      'expired',
      async () =>
        jwt()
          .setExpirationTime(now() - 3600)
          .sign(key),
      /expired/,
    ],
    [
      'not yet valid',
      async () =>
        jwt()
          .setNotBefore(now() + 3600)
          .setExpirationTime('2h')
          .sign(key),
      /not yet valid/,
    ],
    [
      'alg none',
      async () => new UnsecuredJWT({ rooms: { '**': 'owner' } }).setSubject('ada').encode(),
      /algorithm|invalid/,
    ],
    ['garbage', async () => 'not.a.jwt', /invalid/],
    ['no exp (valid forever)', async () => jwt().sign(key), /no "exp"/],
    [
      'no sub',
      async () => new SignJWT({ rooms: {} }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key),
      /sub/,
    ],
  ])('refuses %s with 4401 before any sync data', async (_name, make, reason) => {
    await start();
    const t = await make();
    await expectRefused(open('doc', { query: t ? `?token=${t}` : '' }), 4401, reason);
  });

  it('checks audience and issuer when configured', async () => {
    await start({ jwtAudience: 'tandem', jwtIssuer: 'https://auth.example' });
    const wrongAud = await jwt()
      .setAudience('other')
      .setIssuer('https://auth.example')
      .setExpirationTime('1h')
      .sign(key);
    await expectRefused(open('doc', { query: `?token=${wrongAud}` }), 4401, /aud/);
    const wrongIss = await jwt()
      .setAudience('tandem')
      .setIssuer('https://evil.example')
      .setExpirationTime('1h')
      .sign(key);
    await expectRefused(open('doc', { query: `?token=${wrongIss}` }), 4401, /iss/);
    const good = await jwt().setAudience('tandem').setIssuer('https://auth.example').setExpirationTime('1h').sign(key);
    const ok = open('doc', { query: `?token=${good}` });
    await eventually(() => expect(ok.synced).toBe(true));
  });

  it('--jwt-max-age accepts a token without exp until iat + max age, never forever', async () => {
    await start({ jwtMaxAge: 600 });
    await expectRefused(open('doc', { query: `?token=${await jwt().sign(key)}` }), 4401, /"iat"/);
    const old = await jwt()
      .setIssuedAt(now() - 3600)
      .sign(key);
    await expectRefused(open('doc', { query: `?token=${old}` }), 4401, /expired/);
    const fresh = await jwt().setIssuedAt().sign(key);
    const ok = open('doc', { query: `?token=${fresh}` });
    await eventually(() => expect(ok.synced).toBe(true));
  });

  it('a client refused once succeeds on retry with a valid token', async () => {
    await start();
    await expectRefused(open('doc', { query: '?token=bad' }), 4401, /invalid/);
    const ok = open('doc', { query: `?token=${await token('ada')}` });
    await eventually(() => expect(ok.synced).toBe(true));
  });

  it('accepts the token from Authorization, a subprotocol, and ?token=', async () => {
    await start();
    const t = await token('ada');
    const viaHeader = open('doc', { headers: { authorization: `Bearer ${t}` } });
    const viaProtocol = open('doc', { protocols: [`tandem.token.${t}`] });
    const viaQuery = open('doc', { query: `?token=${t}`, tandem: false });
    await eventually(() => expect([viaHeader.synced, viaProtocol.synced, viaQuery.synced]).toEqual([true, true, true]));
    // The token entry is never echoed back as the selected protocol.
    expect(viaProtocol.ws.protocol).toBe('tandem.v1');
  });

  it('a stock client can pass the token as a tandem.auth subprotocol pair', async () => {
    await start();
    const t = await token('ada');
    const peer = open('doc', { tandem: false, protocols: ['tandem.auth', `tandem.token.${t}`] });
    await eventually(() => expect(peer.synced).toBe(true));
    expect(peer.ws.protocol).toBe('tandem.auth');
  });

  it('refuses a room the token does not grant with 4403', async () => {
    await start();
    const t = await token('ada', { rooms: { 'team-42/*': 'editor' } });
    await expectRefused(open('team-7/notes', { query: `?token=${t}` }), 4403, /no access/);
    const ok = open('team-42/notes', { query: `?token=${t}` });
    await eventually(() => expect(ok.synced).toBe(true));
  });

  it('closes a live socket with 4401 when its token expires, unless refreshed in-band', async () => {
    await start();
    const short = () => token('ada', { ttl: '2s' });
    const expiring = open('doc', { query: `?token=${await short()}` });
    const refreshed = open('doc', { query: `?token=${await short()}` });
    await eventually(() => expect(expiring.synced && refreshed.synced).toBe(true));
    refreshed.refreshToken(await token('ada', { ttl: '1h' }));
    const closed = await expiring.closed;
    expect(closed).toEqual({ code: 4401, reason: 'token expired' });
    expect(expiring.received.find((m) => m.type === 'error')).toMatchObject({ code: 'unauthenticated' });
    // The refreshed one is still live and can write.
    refreshed.doc.getText('t').insert(0, 'still here');
    await eventually(() => expect(refreshed.acked).toBe(refreshed.sent));
    expect(refreshed.closeEvent).toBeNull();
  });

  it('refuses an in-band token for a different user', async () => {
    await start();
    const peer = open('doc', { query: `?token=${await token('ada')}` });
    await eventually(() => expect(peer.synced).toBe(true));
    peer.refreshToken(await token('mallory'));
    expect((await peer.closed).code).toBe(4403);
  });

  it('never writes tokens to the logs', async () => {
    const lines: string[] = [];
    const { default: pino } = await import('pino');
    const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
    server = await startTestServer({ jwtSecret: SECRET }, { logger });
    const bad = await jwt()
      .setExpirationTime(now() - 10)
      .sign(key);
    const peer = open('doc', { query: `?token=${bad}`, headers: { authorization: `Bearer ${bad}` } });
    await peer.closed;
    const good = await token('ada');
    await api(server.httpUrl, 'GET', '/v1/rooms/doc/collaborators', { token: good });
    // A token pasted into the path by mistake (a 404 at debug level) is not logged either.
    await api(server.httpUrl, 'GET', `/v1/rooms/${good}/nothing`, { token: good });
    expect(lines.some((l) => l.includes('/nothing'))).toBe(true);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain(bad);
      expect(line).not.toContain(good);
    }
  });
});

describe('roles', () => {
  let server: TandemServer;

  it('a stock y-websocket viewer never changes the doc or the store, but keeps receiving', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const editor = await connectPeer(`${server.syncUrl}/shared?token=${await token('ed')}`);
    editor.doc.getText('t').insert(0, 'editor text');
    await eventually(() => expect(editor.acked).toBe(editor.sent));

    const viewerDoc = new Y.Doc();
    const viewer = stockProvider(server.syncUrl, 'shared', viewerDoc);
    viewer.params = { token: await token('vi', { rooms: { shared: 'viewer' } }) };
    viewer.disconnect();
    viewer.connect();
    await eventually(() => expect(viewerDoc.getText('t').toString()).toBe('editor text'));

    viewerDoc.getText('t').insert(0, 'VIEWER WAS HERE ');
    viewer.awareness.setLocalStateField('user', { name: 'viewer' });
    editor.doc.getText('t').insert(editor.text.length, ' + more');
    await eventually(() => expect(viewerDoc.getText('t').toString()).toContain(' + more'));
    // Presence is allowed for viewers by default.
    await eventually(() => expect(editor.awareness.getStates().get(viewerDoc.clientID)).toBeDefined());
    await eventually(() => expect(editor.acked).toBe(editor.sent));
    expect(editor.text).toBe('editor text + more');
    expect(server.registry.get('shared')!.doc.getText('t').toString()).toBe('editor text + more');
    const fromStore = await storedDoc(server.store, 'shared');
    expect(fromStore.getText('t').toString()).toBe('editor text + more');
  });

  it('tells a Tandem viewer it is read-only, once', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const viewer = await connectPeer(`${server.syncUrl}/ro?token=${await token('vi', { rooms: { ro: 'viewer' } })}`);
    await eventually(() => expect(viewer.synced).toBe(true));
    expect(viewer.received.find((m) => m.type === 'status')).toMatchObject({ status: { readOnly: true } });
    viewer.doc.getText('t').insert(0, 'a');
    viewer.doc.getText('t').insert(0, 'b');
    await eventually(() => expect(viewer.types.filter((t) => t === 'error')).toHaveLength(1));
    expect(viewer.received.find((m) => m.type === 'error')).toMatchObject({ code: 'read_only' });
    expect(viewer.closeEvent).toBeNull();
    await eventually(async () =>
      expect((await server.metrics.readOnlyDrops.get()).values[0]?.value).toBeGreaterThanOrEqual(2),
    );
  });

  it('hides viewer presence when --viewer-presence is false', async () => {
    server = await startTestServer({ jwtSecret: SECRET, viewerPresence: false });
    const editor = await connectPeer(`${server.syncUrl}/p?token=${await token('ed')}`);
    const viewer = await connectPeer(`${server.syncUrl}/p?token=${await token('vi', { rooms: { p: 'viewer' } })}`);
    viewer.awareness.setLocalStateField('name', 'v');
    editor.awareness.setLocalStateField('name', 'e');
    await eventually(() => expect(viewer.awareness.getStates().has(editor.doc.clientID)).toBe(true));
    await new Promise((r) => setTimeout(r, 100));
    expect(editor.awareness.getStates().has(viewer.doc.clientID)).toBe(false);
  });

  it('read-only in one room does not leak into another room of the same user', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const t = await token('sam', { rooms: { 'a/*': 'viewer', 'b/*': 'editor' } });
    const inA = await connectPeer(`${server.syncUrl}/a/doc?token=${t}`);
    const inB = await connectPeer(`${server.syncUrl}/b/doc?token=${t}`);
    inA.doc.getText('t').insert(0, 'dropped');
    inB.doc.getText('t').insert(0, 'kept');
    await eventually(() => expect(inB.acked).toBe(inB.sent));
    expect(server.registry.get('b/doc')!.doc.getText('t').toString()).toBe('kept');
    expect(server.registry.get('a/doc')!.doc.getText('t').toString()).toBe('');
  });

  it('a room that only has events has no document yet: its first writer becomes owner (SQLite)', async () => {
    const { dir } = tempDir('tandem-events-first-');
    server = await startTestServer({ jwtSecret: SECRET, store: 'sqlite', dataDir: dir });
    const poster = await token('paul', { rooms: { 'proj/*': 'editor' } });
    const posted = await api(server.httpUrl, 'POST', `/v1/rooms/${encodeURIComponent('proj/board')}/events`, {
      token: poster,
      body: { type: 'note', data: { text: 'first' } },
    });
    expect(posted.status).toBe(201);
    // Wait until the room is unloaded, so the writer's join loads it from the store.
    await eventually(() => expect(server.registry.get('proj/board')).toBeUndefined());
    const writer = await connectPeer(
      `${server.syncUrl}/proj/board?token=${await token('wendy', { rooms: { 'proj/*': 'editor' } })}`,
    );
    await eventually(() => expect(writer.synced).toBe(true));
    writer.doc.getText('t').insert(0, 'plan');
    await eventually(async () => expect(await server.store.getCollaborator('proj/board', 'wendy')).toBe('owner'));
    expect(await server.store.getCollaborator('proj/board', 'paul')).toBeNull();
  });

  it('the creator becomes owner; an added collaborator connects as editor; a removed one is cut off live', async () => {
    server = await startTestServer({ jwtSecret: SECRET });
    const ownerToken = await token('olivia', { rooms: { 'proj/*': 'editor' } });
    const creator = await connectPeer(`${server.syncUrl}/proj/plan?token=${ownerToken}`);
    await eventually(() => expect(creator.synced).toBe(true));
    // Joining creates nothing; the first write makes the writer the owner.
    expect(await server.store.getCollaborator('proj/plan', 'olivia')).toBeNull();
    creator.doc.getText('t').insert(0, 'plan');
    await eventually(async () => expect(await server.store.getCollaborator('proj/plan', 'olivia')).toBe('owner'));

    const guestToken = await token('gus', { rooms: {} });
    const refused = await new TestPeer(`${server.syncUrl}/proj/plan?token=${guestToken}`).closed;
    expect(refused.code).toBe(4403);

    const room = encodeURIComponent('proj/plan');
    const put = await api(server.httpUrl, 'PUT', `/v1/rooms/${room}/collaborators/gus`, {
      token: ownerToken,
      body: { role: 'editor' },
    });
    expect(put).toMatchObject({ status: 200, body: { user: 'gus', role: 'editor' } });
    const guest = await connectPeer(`${server.syncUrl}/proj/plan?token=${guestToken}`);
    await eventually(() => expect(guest.text).toBe('plan'));
    guest.doc.getText('t').insert(0, 'guest edit ');
    await eventually(() => expect(creator.text).toBe('guest edit plan'));

    // Downgrade live: the guest becomes read-only without reconnecting.
    await api(server.httpUrl, 'PUT', `/v1/rooms/${room}/collaborators/gus`, {
      token: ownerToken,
      body: { role: 'viewer' },
    });
    await eventually(() =>
      expect(guest.received.filter((m) => m.type === 'status').at(-1)).toMatchObject({ status: { readOnly: true } }),
    );
    guest.doc.getText('t').insert(0, 'ignored ');
    // The read_only frame is sent while the dropped update is handled: after it, nothing of it is applied.
    await eventually(() =>
      expect(guest.received).toContainEqual(expect.objectContaining({ type: 'error', code: 'read_only' })),
    );
    expect(server.registry.get('proj/plan')!.doc.getText('t').toString()).toBe('guest edit plan');

    const del = await api(server.httpUrl, 'DELETE', `/v1/rooms/${room}/collaborators/gus`, { token: ownerToken });
    expect(del.status).toBe(204);
    expect(await guest.closed).toEqual({ code: 4403, reason: 'your access to this room was removed' });

    // Only owners manage collaborators.
    const asEditor = await api(server.httpUrl, 'GET', `/v1/rooms/${room}/collaborators`, {
      token: await token('ed', { rooms: { 'proj/*': 'editor' } }),
    });
    expect(asEditor).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const list = await api(server.httpUrl, 'GET', `/v1/rooms/${room}/collaborators`, { token: ownerToken });
    expect(list.body).toEqual({ collaborators: [{ user: 'olivia', role: 'owner' }] });
  });
});

describe('access changes during a join', () => {
  it('a collaborator removed while its socket waits for the room to load is refused, with no content', async () => {
    const store = new ControllableStore();
    const server = await startTestServer({ jwtSecret: SECRET }, { store });
    try {
      const ownerToken = await token('olivia', { rooms: { 'proj/*': 'editor' } });
      const owner = await connectPeer(`${server.syncUrl}/proj/x?token=${ownerToken}`);
      owner.doc.getText('t').insert(0, 'secret plan');
      await eventually(() => expect(owner.acked).toBe(owner.sent));
      await eventually(async () => expect(await store.getCollaborator('proj/x', 'olivia')).toBe('owner'));
      const room = encodeURIComponent('proj/x');
      await api(server.httpUrl, 'PUT', `/v1/rooms/${room}/collaborators/gus`, {
        token: ownerToken,
        body: { role: 'editor' },
      });
      owner.terminate();
      await eventually(() => expect(server.registry.size).toBe(0));

      store.loadDelayMs = 300;
      const gus = new TestPeer(`${server.syncUrl}/proj/x?token=${await token('gus', { rooms: {} })}`);
      await gus.opened;
      const removed = await api(server.httpUrl, 'DELETE', `/v1/rooms/${room}/collaborators/gus`, { token: ownerToken });
      expect(removed.status).toBe(204);
      expect((await gus.closed).code).toBe(4403);
      expect(gus.types.filter((t) => t === 'sync-step2' || t === 'sync-update')).toEqual([]);
      expect(gus.text).toBe('');
      // And the refused socket did not stay in the room.
      await eventually(() => expect(server.registry.get('proj/x')?.peerCount ?? 0).toBe(0));
    } finally {
      await server.drain();
    }
  });
});

describe('cookie auth', () => {
  let server: TandemServer;

  it('authenticates from the cookie and refuses other origins (CSWSH)', async () => {
    server = await startTestServer({
      jwtSecret: SECRET,
      authCookie: 'tandem_session',
      corsOrigin: ['https://app.example'],
    });
    const cookie = `tandem_session=${await token('ada')}; other=1`;
    const good = await connectPeer(`${server.syncUrl}/c`, { headers: { cookie, origin: 'https://app.example' } });
    await eventually(() => expect(good.synced).toBe(true));
    good.terminate();
    await expect(
      connectPeer(`${server.syncUrl}/c`, { headers: { cookie, origin: 'https://evil.example' } }),
    ).rejects.toThrow(/403/);
    // REST writes from a foreign origin are refused too; reads are not.
    const write = await api(server.httpUrl, 'PUT', '/v1/rooms/c/collaborators/bob', {
      headers: { cookie, origin: 'https://evil.example' },
      body: { role: 'viewer' },
    });
    expect(write).toMatchObject({ status: 403, body: { error: { code: 'origin_not_allowed' } } });
    const noCookie = await new TestPeer(`${server.syncUrl}/c`, { headers: { origin: 'https://app.example' } }).closed;
    expect(noCookie.code).toBe(4401);
  });
});

describe('presence ownership', () => {
  it("a user cannot change or remove another user's presence; the same user can take over its own", async () => {
    const server = await startTestServer({ devAuth: true });
    const join = (user: string) => connectPeer(`${server.syncUrl}/pres?user=${user}`);
    try {
      const ada = await join('ada');
      const eve = await join('eve');
      const watcher = await join('wat');
      ada.awareness.setLocalStateField('name', 'Ada');
      await eventually(() => expect(watcher.awareness.getStates().get(ada.doc.clientID)).toEqual({ name: 'Ada' }));
      // Eve forges an update for Ada's client id: first a rename, then a removal.
      const forged = new awarenessProtocol.Awareness(new Y.Doc());
      forged.clientID = ada.doc.clientID;
      forged.setLocalState({ name: 'Eve pretending' });
      eve.sendRaw(
        encodeAwareness(
          awarenessProtocol.encodeAwarenessUpdate(
            forged,
            [ada.doc.clientID],
            new Map([[ada.doc.clientID, { clock: 99, lastUpdated: 0 }]]),
          ),
        ),
      );
      awarenessProtocol.removeAwarenessStates(forged, [ada.doc.clientID], null);
      eve.sendRaw(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(forged, [ada.doc.clientID])));
      eve.awareness.setLocalStateField('name', 'Eve');
      await eventually(() => expect(watcher.awareness.getStates().get(eve.doc.clientID)).toEqual({ name: 'Eve' }));
      expect(watcher.awareness.getStates().get(ada.doc.clientID)).toEqual({ name: 'Ada' });
      expect(eve.closeEvent).toBeNull();
      // Ada reconnecting on a new socket (before the old one is gone) keeps her own client id.
      const ada2 = await connectPeer(`${server.syncUrl}/pres?user=ada`, { doc: ada.doc });
      ada2.awareness.clientID = ada.doc.clientID;
      ada2.awareness.setLocalState({ name: 'Ada again' });
      await eventually(() =>
        expect(watcher.awareness.getStates().get(ada.doc.clientID)).toEqual({ name: 'Ada again' }),
      );
      // When the old socket finally goes, it must not take the presence the new one now owns with it.
      ada.terminate();
      await eventually(() => expect(server.registry.get('pres')!.peerCount).toBe(3));
      await new Promise((r) => setTimeout(r, 100));
      expect(watcher.awareness.getStates().get(ada.doc.clientID)).toEqual({ name: 'Ada again' });
      forged.destroy();
      for (const p of [ada, eve, watcher, ada2]) p.terminate();
    } finally {
      await server.drain();
    }
  });
});

describe('dev auth', () => {
  it('trusts X-User-Id and ?user= with an optional role', async () => {
    const server = await startTestServer({ devAuth: true });
    try {
      const a = await connectPeer(`${server.syncUrl}/d`, { headers: { 'x-user-id': 'ada' } });
      const v = await connectPeer(`${server.syncUrl}/d?user=vic&role=viewer`);
      await eventually(() =>
        expect(v.received.find((m) => m.type === 'status')).toMatchObject({ status: { readOnly: true } }),
      );
      expect((await new TestPeer(`${server.syncUrl}/d`).closed).code).toBe(4401);
      a.terminate();
      v.terminate();
    } finally {
      await server.drain();
    }
  });

  it('is refused together with a JWT secret', () => {
    expect(() => parseConfig({ devAuth: true, jwtSecret: SECRET })).toThrow(/dev-auth/);
    expect(() => parseConfig({ devAuth: 'false', jwtSecret: SECRET })).not.toThrow();
    expect(() => parseConfig({ jwtSecret: 'short' })).toThrow(/32 characters/);
  });
});
