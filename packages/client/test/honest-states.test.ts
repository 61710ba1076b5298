import { describe, expect, it, onTestFinished } from 'vitest';
import { SECRET, token } from '../../server/test/support/auth.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import type { TandemProvider } from '../src/index.js';
import { countingWebSocket, provider } from './support.js';

function open(url: string, room: string, options: Parameters<typeof provider>[2] = {}): TandemProvider {
  const p = provider(url, room, options);
  onTestFinished(() => p.destroy());
  return p;
}

describe('TandemProvider states that say what is true', () => {
  it.each(['bad room!', 'x'.repeat(300), 'café', 'a/../b', 'team//notes'])(
    'room name %j: failed with invalid_room_name, no socket and no HTTP request',
    async (room) => {
      const server = await startTestServer();
      onTestFinished(async () => {
        await server.drain();
      });
      const sockets = countingWebSocket();
      let fetches = 0;
      const p = open(server.syncUrl, room, {
        WebSocketPolyfill: sockets.Impl,
        fetch: (...args: Parameters<typeof fetch>) => {
          fetches++;
          return fetch(...args);
        },
      });
      const errors: { code: string }[] = [];
      p.on('error', (e) => errors.push(e));
      await eventually(() => expect(p.status).toBe('failed'));
      expect(errors.map((e) => e.code)).toEqual(['invalid_room_name']);
      expect(sockets.count()).toBe(0);
      expect(fetches).toBe(0);
    },
  );

  it('a viewer: save state read-only, edits neither queued nor waited for, said once', async () => {
    const server = await startTestServer({ jwtSecret: SECRET });
    onTestFinished(async () => {
      await server.drain();
    });
    const viewer = await token('vic', { rooms: { '**': 'viewer' } });
    const p = open(server.syncUrl, 'readonly', { token: viewer });
    const errors: { code: string }[] = [];
    p.on('error', (e) => errors.push(e));
    await p.whenSynced();
    await eventually(() => expect(p.readOnly).toBe(true));
    p.doc!.getText('t').insert(0, 'mine only');
    p.doc!.getText('t').insert(0, 'and this');
    expect(p.saveState).toBe('read-only');
    expect(p.pendingUpdates).toBe(0);
    expect(errors.map((e) => e.code)).toEqual(['read_only']);
  });

  it('unknown, not saved, while nothing ever reached the server; unsaved once there are edits', async () => {
    const p = open('ws://127.0.0.1:9/v1/sync', 'nowhere');
    expect(p.saveState).toBe('unknown');
    p.doc!.getText('t').insert(0, 'typed offline');
    expect(p.saveState).toBe('unsaved');
  });
});
