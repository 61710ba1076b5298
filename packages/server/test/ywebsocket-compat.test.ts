import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { stockProvider } from './support/stock-provider.js';
import { connectPeer } from './support/test-peer.js';

describe('stock y-websocket WebsocketProvider', () => {
  let server: TandemServer;

  it('syncs text both ways with another client and sees awareness', async () => {
    server = await startTestServer();
    const docA = new Y.Doc();
    const a = stockProvider(server.syncUrl, 'compat', docA);
    const b = await connectPeer(`${server.syncUrl}/compat`, { tandem: false });

    await eventually(() => expect(a.synced).toBe(true));
    docA.getText('t').insert(0, 'from stock ');
    await eventually(() => expect(b.text).toBe('from stock '));
    b.doc.getText('t').insert(b.text.length, 'and back');
    await eventually(() => expect(docA.getText('t').toString()).toBe('from stock and back'));

    a.awareness.setLocalStateField('user', { name: 'Ada' });
    await eventually(() => expect(b.awareness.getStates().get(docA.clientID)).toEqual({ user: { name: 'Ada' } }));
    b.awareness.setLocalStateField('cursor', 3);
    await eventually(() => expect(a.awareness.getStates().get(b.doc.clientID)).toEqual({ cursor: 3 }));

    // A stock client must never be sent Tandem extension frames: it would log errors for them.
    expect(b.received.map((m) => m.type).filter((t) => ['status', 'ack', 'error', 'event'].includes(t))).toEqual([]);
  });

  it('two stock providers converge and awareness is removed when one disconnects', async () => {
    server = await startTestServer();
    const docA = new Y.Doc();
    const docB = new Y.Doc();
    const a = stockProvider(server.syncUrl, 'pair', docA);
    const b = stockProvider(server.syncUrl, 'pair', docB);
    await eventually(() => expect(a.synced && b.synced).toBe(true));
    docA.getText('t').insert(0, 'A');
    docB.getText('t').insert(0, 'B');
    await eventually(() => {
      expect(docA.getText('t').toString()).toBe(docB.getText('t').toString());
      expect(docA.getText('t').length).toBe(2);
    });
    a.awareness.setLocalStateField('name', 'a');
    await eventually(() => expect(b.awareness.getStates().has(docA.clientID)).toBe(true));
    a.disconnect();
    await eventually(() => expect(b.awareness.getStates().has(docA.clientID)).toBe(false));
  });
});
