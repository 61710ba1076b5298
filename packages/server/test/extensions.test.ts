import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { TandemError } from '../src/errors.js';
import type { Extension } from '../src/extensions/extension.js';
import type { ServerDeps, TandemServer } from '../src/server.js';
import { api, SECRET, token } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { startTestServer, tempDir } from './support/server.js';
import { connectPeer } from './support/test-peer.js';
import { afterThisTest } from './support/cleanup.js';

const WEBHOOK_SECRET = 'load-secret-0123456789';

function yjsOf(text: string, field = 't'): Uint8Array {
  const doc = new Y.Doc();
  doc.getText(field).insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

describe('server extensions', () => {
  let server: TandemServer | null = null;
  const start = async (
    extensions: Extension[],
    config: Parameters<typeof startTestServer>[0] = {},
    deps: ServerDeps = {},
  ) => (server = await startTestServer(config, { ...deps, extensions }));
  const join = async (room: string, options: Parameters<typeof connectPeer>[1] = {}) => {
    const peer = await connectPeer(`${server!.syncUrl}/${room}`, options);
    return peer;
  };

  describe('onLoadDocument', () => {
    it.each([
      ['Yjs bytes', () => yjsOf('from bytes'), 't', 'from bytes'],
      ['base64 Yjs', () => ({ yjs: Buffer.from(yjsOf('from base64')).toString('base64') }), 't', 'from base64'],
      ['plain text into a named Y.Text', () => ({ text: 'from text', field: 't' }), 't', 'from text'],
      ['plain text into the default field', () => ({ text: 'default field' }), 'body', 'default field'],
    ])('%s: applied once on the server, stored, and what joiners get', async (_kind, content, field, expected) => {
      const rooms: string[] = [];
      await start([{ onLoadDocument: ({ room }) => (rooms.push(room), content()) }]);
      const peer = await join('loaded');
      await eventually(() => expect(peer.doc.getText(field).toString()).toBe(expected));
      const stored = await server!.store.loadRoom('loaded');
      expect(stored?.updates).toHaveLength(1);
      const second = await join('loaded');
      await eventually(() => expect(second.doc.getText(field).toString()).toBe(expected));
      expect(rooms).toEqual(['loaded']);
    });

    it('JSON content is imported like PUT …/content?format=json', async () => {
      await start([{ onLoadDocument: () => ({ json: { title: 'Plan', tags: ['a', 'b'] } }) }]);
      const peer = await join('j');
      await eventually(() => expect(peer.synced).toBe(true));
      const content = await api(server!.httpUrl, 'GET', '/v1/rooms/j/content');
      expect(content.body).toMatchObject({ content: { title: 'Plan', tags: ['a', 'b'] } });
    });

    it('a failing load refuses peers with 1013 and stores nothing; the next join loads again', async () => {
      let calls = 0;
      await start([
        {
          onLoadDocument: () => {
            if (++calls === 1) throw new Error('app database down');
            return { text: 'second try', field: 't' };
          },
        },
      ]);
      const refused = await join('flaky');
      expect((await refused.closed).code).toBe(1013);
      expect(await server!.store.loadRoom('flaky')).toBeNull();
      const peer = await join('flaky');
      await eventually(() => expect(peer.text).toBe('second try'));
      expect(calls).toBe(2);
    });

    it('two instances on one store loading a new room at once store one initial content, not two', async () => {
      const { MemoryStore } = await import('../src/storage/memory/memory-store.js');
      const shared = new MemoryStore();
      let calls = 0;
      const slowLoader: Extension = {
        onLoadDocument: async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 50));
          return { text: 'once', field: 't' };
        },
      };
      await start([slowLoader], {}, { store: shared });
      const other = await startTestServer({}, { store: shared, extensions: [slowLoader] });
      const [a, b] = await Promise.all([join('race'), connectPeer(`${other.syncUrl}/race`)]);
      await eventually(() => expect(a.text).toBe('once'));
      await eventually(() => expect(b.text).toBe('once'));
      expect(calls).toBe(2);
      expect((await shared.loadRoom('race'))?.updates).toHaveLength(1);
    });

    it('a restart never loads again over what is stored', async () => {
      const dir = tempDir('tandem-ext-restart-');
      let calls = 0;
      const loader: Extension = { onLoadDocument: () => (calls++, { text: 'seeded', field: 't' }) };
      await start([loader], { store: 'sqlite', dataDir: dir.dir });
      const first = await join('kept');
      await eventually(() => expect(first.text).toBe('seeded'));
      first.doc.getText('t').insert(6, '!');
      await eventually(() => expect(first.acked).toBeGreaterThan(0));
      await first.close();
      await server!.drain();
      await start([loader], { store: 'sqlite', dataDir: dir.dir });
      const again = await join('kept');
      await eventually(() => expect(again.text).toBe('seeded!'));
      expect(calls).toBe(1);
    });
  });

  describe('--load-url', () => {
    let backend: Server;
    let answer: (req: IncomingMessage, res: ServerResponse) => void;
    const requests: { url: string; signature: string | undefined }[] = [];
    const startBackend = async (): Promise<string> => {
      requests.length = 0;
      backend = createServer((req, res) => {
        requests.push({ url: req.url!, signature: req.headers['tandem-signature'] as string | undefined });
        answer(req, res);
      });
      await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
      const started = backend;
      afterThisTest(() => new Promise((resolve) => started.close(resolve)));
      return `http://127.0.0.1:${(backend.address() as AddressInfo).port}/docs`;
    };
    const send =
      (status: number, type: string, body: string | Uint8Array) => (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };

    it.each([
      ['application/octet-stream', () => send(200, 'application/octet-stream', yjsOf('octets', 'body')), 'octets'],
      ['text/plain', () => send(200, 'text/plain; charset=utf-8', 'plain body'), 'plain body'],
      [
        'JSON {yjs}',
        () =>
          send(
            200,
            'application/json',
            JSON.stringify({ yjs: Buffer.from(yjsOf('json yjs', 'body')).toString('base64') }),
          ),
        'json yjs',
      ],
      [
        'JSON {text, field}',
        () => send(200, 'application/json', JSON.stringify({ text: 'json text', field: 'body' })),
        'json text',
      ],
      ['404 (start empty)', () => send(404, 'text/plain', 'no such doc'), ''],
    ])('%s', async (_kind, handler, expected) => {
      const url = await startBackend();
      answer = handler();
      await start([], { loadUrl: url, webhookSecret: WEBHOOK_SECRET });
      const peer = await join('team/doc');
      await eventually(() => expect(peer.synced).toBe(true));
      await eventually(() => expect(peer.doc.getText('body').toString()).toBe(expected));
      expect(requests).toHaveLength(1);
      expect(requests[0]!.url).toBe('/docs?room=team%2Fdoc');
      // Signed like a webhook, over "<t>.<room>".
      const [t, v1] = requests[0]!.signature!.split(',').map((p) => p.split('=')[1]);
      expect(v1).toBe(createHmac('sha256', WEBHOOK_SECRET).update(`${t}.team/doc`).digest('hex'));
    });

    it('a load that times out or fails refuses peers with 1013 and stores nothing', async () => {
      const url = await startBackend();
      answer = () => undefined; // never answers
      await start([], { loadUrl: url, webhookSecret: WEBHOOK_SECRET, loadTimeoutMs: 200 });
      const slow = await join('slow');
      expect((await slow.closed).code).toBe(1013);
      answer = send(500, 'text/plain', 'boom');
      const failed = await join('slow');
      expect((await failed.closed).code).toBe(1013);
      expect(await server!.store.loadRoom('slow')).toBeNull();
    });

    it('an answer over --max-document-bytes is cut off while it is read, and nothing is stored', async () => {
      const url = await startBackend();
      let written = 0;
      let backendSawClose = false;
      const chunk = Buffer.alloc(64 * 1024, 7);
      answer = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no length: chunked
        res.on('close', () => (backendSawClose = true));
        const pump = (): void => {
          // 80 MiB if nobody stops it, as the fault pass's backend sent.
          while (written < 80 * 1024 * 1024 && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      };
      await start([], { loadUrl: url, webhookSecret: WEBHOOK_SECRET, maxDocumentBytes: 1024 * 1024 });
      const peer = await join('huge');
      expect((await peer.closed).code).toBe(1013);
      expect(await server!.store.loadRoom('huge')).toBeNull();
      await eventually(() => expect(backendSawClose).toBe(true));
      expect(written).toBeLessThan(8 * 1024 * 1024);
    });

    it('initial content from any extension is held to --max-document-bytes', async () => {
      const big: Extension = { name: 'big', onLoadDocument: () => yjsOf('x'.repeat(4096)) };
      await start([big], { maxDocumentBytes: 1024 });
      const peer = await join('big');
      expect((await peer.closed).code).toBe(1013);
      expect(await server!.store.loadRoom('big')).toBeNull();
    });

    it('a failing backend is asked again only after a backoff, not by every reconnect', async () => {
      const url = await startBackend();
      answer = send(500, 'text/plain', 'boom');
      await start([], { loadUrl: url, webhookSecret: WEBHOOK_SECRET });
      for (let i = 0; i < 5; i++) {
        const peer = await join('flaky');
        expect((await peer.closed).code).toBe(1013);
      }
      expect(requests).toHaveLength(1);
      answer = send(200, 'text/plain', 'back again');
      // The first retry waits 1 s.
      await eventually(async () => {
        const peer = await join('flaky');
        await eventually(() => expect(peer.doc.getText('body').toString()).toBe('back again'), 500);
      }, 5_000);
      expect(requests).toHaveLength(2);
    });

    it('is refused without a secret to sign with', async () => {
      await expect(async () => startTestServer({ loadUrl: 'http://127.0.0.1:9/x' })).rejects.toThrow(
        /--webhook-secret/,
      );
    });
  });

  describe('beforeApplyUpdate', () => {
    const noShouting: Extension = {
      beforeApplyUpdate: ({ preview }) => {
        if (/[A-Z]{4,}/.test(preview().getText('t').toString())) throw new Error('no shouting');
      },
    };

    it('a rejected update stays out of the doc, the store and every other peer; the sender gets an error frame', async () => {
      await start([noShouting]);
      const writer = await join('calm');
      const other = await join('calm');
      writer.doc.getText('t').insert(0, 'quiet ');
      await eventually(() => expect(other.text).toBe('quiet '));
      await eventually(() => expect(writer.acked).toBe(writer.sent));
      writer.doc.getText('t').insert(6, 'LOUD');
      const close = await writer.closed;
      expect(close.code).toBe(1008);
      expect(writer.received.find((m) => m.type === 'error')).toMatchObject({ code: 'update_rejected' });
      await new Promise((r) => setTimeout(r, 100));
      expect(other.text).toBe('quiet ');
      expect(server!.registry.get('calm')!.doc.getText('t').toString()).toBe('quiet ');
      const stored = new Y.Doc();
      for (const u of (await server!.store.loadRoom('calm'))!.updates) Y.applyUpdate(stored, u);
      expect(stored.getText('t').toString()).toBe('quiet ');
    });

    it('checks a peer’s updates one at a time, in the order sent, each against the document so far', async () => {
      const previews: string[] = [];
      let delay = 60;
      await start([
        {
          beforeApplyUpdate: async ({ preview }) => {
            previews.push(preview().getText('t').toString());
            // Earlier updates take longer: checked side by side, later ones would overtake them.
            await new Promise((r) => setTimeout(r, (delay -= 10)));
          },
        },
      ]);
      const writer = await join('ordered');
      const other = await join('ordered');
      for (const c of 'abcdef') writer.doc.getText('t').insert(writer.doc.getText('t').length, c);
      await eventually(() => expect(other.text).toBe('abcdef'));
      await eventually(() => expect(writer.acked).toBe(writer.sent));
      expect(previews.filter((p) => p !== '')).toEqual(['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef']);
    });

    it('a viewer’s update is dropped before any hook sees it', async () => {
      let calls = 0;
      await start([{ beforeApplyUpdate: () => void calls++ }], { jwtSecret: SECRET });
      const viewer = await join('v', {
        headers: { authorization: `Bearer ${await token('vic', { rooms: { v: 'viewer' } })}` },
      });
      viewer.doc.getText('t').insert(0, 'nope');
      await eventually(() => expect(viewer.received.some((m) => m.type === 'error')).toBe(true));
      expect(calls).toBe(0);
    });
  });

  describe('connections', () => {
    it('runs onAuthenticate → onConnect → join → onDisconnect, and a slow onConnect delays only its peer', async () => {
      const order: string[] = [];
      await start(
        [
          {
            onAuthenticate: ({ principal }) => {
              order.push(`auth:${principal.user}`);
              return { ...principal, name: `Dr ${principal.user}` };
            },
            onConnect: async ({ user, principal, transport }) => {
              order.push(`connect:${user}:${principal.name}:${transport}`);
              if (user === 'slow') await new Promise((r) => setTimeout(r, 800));
            },
            onDisconnect: ({ user }) => void order.push(`disconnect:${user}`),
          },
        ],
        { devAuth: true },
      );
      const slow = new (await import('./support/test-peer.js')).TestPeer(`${server!.syncUrl}/r`, {
        headers: { 'x-user-id': 'slow' },
      });
      await eventually(() => expect(order).toContain('connect:slow:Dr slow:websocket'));
      const quick = await join('r', { headers: { 'x-user-id': 'quick' } });
      await eventually(() => expect(quick.synced).toBe(true));
      expect(slow.synced).toBe(false);
      await eventually(() => expect(slow.synced).toBe(true));
      await quick.close();
      await eventually(() => expect(order).toContain('disconnect:quick'));
      expect(order.indexOf('auth:quick')).toBeLessThan(order.indexOf('connect:quick:Dr quick:websocket'));
    });

    it('runs onAuthenticate for an in-band token refresh: what it added stays, a refusal closes the socket', async () => {
      const banned = new Set<string>();
      const disconnected: (string | undefined)[] = [];
      const requests: (IncomingMessage | null)[] = [];
      await start(
        [
          {
            onAuthenticate: ({ request, principal }) => {
              requests.push(request);
              if (banned.has(principal.user)) throw new TandemError('forbidden', 'banned by the app');
              return { ...principal, name: `Dr ${principal.user}` };
            },
            onDisconnect: ({ principal }) => void disconnected.push(principal.name),
          },
        ],
        { jwtSecret: SECRET },
      );
      const ada = await join(`r?token=${await token('ada')}`);
      await eventually(() => expect(ada.synced).toBe(true));
      ada.refreshToken(await token('ada', { ttl: '2h' }));
      await eventually(() => expect(requests).toHaveLength(2));
      expect(requests[0]).not.toBeNull();
      expect(requests[1]).toBeNull(); // the refresh has no request
      await ada.close();
      await eventually(() => expect(disconnected).toEqual(['Dr ada']));

      const bob = await join(`r?token=${await token('bob')}`);
      await eventually(() => expect(bob.synced).toBe(true));
      banned.add('bob');
      bob.refreshToken(await token('bob', { ttl: '2h' }));
      expect((await bob.closed).code).toBe(4403);
      expect(bob.received.find((m) => m.type === 'error')).toMatchObject({ code: 'forbidden' });
    });

    it('a throwing hook refuses with the documented code and the server keeps serving', async () => {
      await start(
        [
          {
            onAuthenticate: ({ principal }) => {
              if (principal.user === 'banned') throw new TandemError('forbidden', 'banned by the app');
            },
            onConnect: ({ user }) => {
              if (user === 'buggy') throw new Error('bug in the hook');
            },
          },
        ],
        { devAuth: true },
      );
      const banned = await join('r', { headers: { 'x-user-id': 'banned' } });
      expect((await banned.closed).code).toBe(4403);
      const buggy = await join('r', { headers: { 'x-user-id': 'buggy' } });
      expect((await buggy.closed).code).toBe(1011);
      expect(buggy.received.find((m) => m.type === 'error')).toMatchObject({ code: 'extension_failed' });
      const fine = await join('r', { headers: { 'x-user-id': 'fine' } });
      await eventually(() => expect(fine.synced).toBe(true));
      const rest = await api(server!.httpUrl, 'GET', '/v1/rooms', { headers: { 'x-user-id': 'banned' } });
      expect(rest).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    });
  });

  describe('events and changes', () => {
    it('beforeEvent transforms or rejects app events from REST and sockets; onEvent sees every stored event', async () => {
      const seen: string[] = [];
      await start([
        {
          beforeEvent: ({ type, data }) => {
            if (type === 'spam') throw new Error('no spam here');
            return { data: { ...(data as object), checked: true } };
          },
          onEvent: ({ event }) => void seen.push(event.type),
        },
      ]);
      const ok = await api(server!.httpUrl, 'POST', '/v1/rooms/e/events', { body: { type: 'note', data: { n: 1 } } });
      expect(ok).toMatchObject({ status: 201, body: { event: { type: 'note', data: { n: 1, checked: true } } } });
      const spam = await api(server!.httpUrl, 'POST', '/v1/rooms/e/events', { body: { type: 'spam' } });
      expect(spam).toMatchObject({
        status: 422,
        body: { error: { code: 'event_rejected', message: 'event rejected: no spam here' } },
      });
      const broadcast = await api(server!.httpUrl, 'POST', '/v1/rooms/e/broadcast', { body: { type: 'spam' } });
      expect(broadcast.status).toBe(422);
      await eventually(() => expect(seen).toContain('note'));
      expect(seen).not.toContain('spam');
    });

    it('onChange is debounced and can read the document; afterStore follows each commit', async () => {
      const changes: string[] = [];
      const storedSeqs: number[] = [];
      await start(
        [
          {
            onChange: async ({ room, read }) =>
              void changes.push(`${room}:${await read((doc) => doc.getText('t').toString())}`),
            afterStore: ({ seq }) => void storedSeqs.push(seq),
          },
        ],
        { roomUpdatedDebounceMs: 150 },
      );
      const peer = await join('autosave');
      for (const c of 'hello') peer.doc.getText('t').insert(peer.doc.getText('t').length, c);
      await eventually(() => expect(changes).toEqual(['autosave:hello']));
      expect(storedSeqs.length).toBeGreaterThanOrEqual(1);
      expect(storedSeqs).toEqual([...storedSeqs].sort((a, b) => a - b));
      // A change still pending at shutdown runs during the drain: no autosave is lost.
      peer.doc.getText('t').insert(5, '!');
      await eventually(() => expect(peer.acked).toBe(peer.sent));
      await server!.drain();
      server = null;
      expect(changes).toEqual(['autosave:hello', 'autosave:hello!']);
    });
  });
});
