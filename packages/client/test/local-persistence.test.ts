import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../../server/src/server.js';
import { ControllableStore } from '../../server/test/support/controllable-store.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import { provider } from './support.js';

/** Stands in for y-indexeddb (IndexedDB does not exist in Node): a promise the test resolves. */
function localStore(): { whenSynced: Promise<void>; loaded: () => void } {
  let loaded!: () => void;
  return { whenSynced: new Promise<void>((r) => (loaded = r)), loaded: () => loaded() };
}

describe('local persistence', () => {
  let server: TandemServer;

  it('is not saved while the local store loads, and saved once what it loaded is acknowledged', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    const doc = new Y.Doc();
    const local = localStore();
    const p = provider(server.syncUrl, 'offline-edits', { doc, localPersistence: local });
    await eventually(() => expect(p.status).toBe('live'));
    expect(p.saveState).toBe('saving'); // nothing typed, but edits from before a reload may be on their way
    // The local store applies what was typed before the reload (as y-indexeddb does, with itself as origin).
    const before = new Y.Doc();
    before.getText('t').insert(0, 'typed offline, then reloaded');
    store.hold();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(before), local);
    local.loaded();
    await eventually(() =>
      expect(server.registry.get('offline-edits')!.doc.getText('t').toString()).toBe('typed offline, then reloaded'),
    );
    expect(p.saveState).toBe('saving'); // applied on the server, not committed
    store.release();
    await p.whenSaved();
    expect(p.saveState).toBe('saved');
  });

  it('a store that loaded before the provider existed is carried by the first step 2', async () => {
    server = await startTestServer();
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'already in the doc');
    const p = provider(server.syncUrl, 'preloaded', { doc, localPersistence: { whenSynced: Promise.resolve() } });
    expect(p.saveState).not.toBe('saved');
    await p.whenSaved();
    expect(server.registry.get('preloaded')!.doc.getText('t').toString()).toBe('already in the doc');
  });
});
