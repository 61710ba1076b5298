import { TandemProvider, type EventEnvelope, type WebSocketConstructor } from '@tandem/client';
import type { TandemServer } from '@tandem/server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { AppDatabase } from '../src/app-database.js';
import { eventually } from '../../../packages/server/test/support/eventually.js';
import { FIELD, SAVED_EVENT, startCollabServer } from '../src/collab-server.js';

describe('example: the PartyKit + CodeMirror flow on Tandem', () => {
  let dir: string;
  let db: AppDatabase;
  let server: TandemServer | null = null;
  const providers: TandemProvider[] = [];
  afterEach(async () => {
    for (const p of providers.splice(0)) p.destroy();
    await server?.drain();
    server = null;
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const setUp = async (): Promise<void> => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-example-'));
    db = new AppDatabase(join(dir, 'app.db'));
  };
  const start = async (): Promise<TandemServer> =>
    (server = await startCollabServer(db, { port: 0, dataDir: join(dir, 'tandem'), roomUpdatedDebounceMs: 100 }));
  const open = (room: string): TandemProvider => {
    const p = new TandemProvider({
      url: server!.syncUrl,
      room,
      doc: new Y.Doc(),
      WebSocketPolyfill: WebSocket as unknown as WebSocketConstructor,
    });
    providers.push(p);
    return p;
  };
  const text = (p: TandemProvider) => p.doc!.getText(FIELD).toString();

  it('loads base64 Yjs state, else the plain-text body, else an empty document', async () => {
    await setUp();
    const seeded = new Y.Doc();
    seeded.getText(FIELD).insert(0, 'from saved Yjs state');
    db.save('with-state', Buffer.from(Y.encodeStateAsUpdate(seeded)).toString('base64'), 'stale body');
    db.putBody('with-body', 'from the body column');
    await start();
    const [a, b, c] = [open('with-state'), open('with-body'), open('empty')];
    await Promise.all([a.whenSynced(), b.whenSynced(), c.whenSynced()]);
    expect(text(a)).toBe('from saved Yjs state');
    expect(text(b)).toBe('from the body column');
    expect(text(c)).toBe('');
  });

  it('autosaves edits into the app database and tells open clients to refresh; a restart does not load again', async () => {
    await setUp();
    db.putBody('notes', 'Draft');
    await start();
    const writer = open('notes');
    const reader = open('notes');
    const saved: EventEnvelope[] = [];
    reader.events.on(SAVED_EVENT, (e) => saved.push(e));
    await Promise.all([writer.whenSynced(), reader.whenSynced()]);
    writer.doc!.getText(FIELD).insert(5, ' v2');
    await writer.whenSaved();
    await eventually(() => expect(db.get('notes')?.body).toBe('Draft v2'));
    await eventually(() => expect(saved.length).toBeGreaterThanOrEqual(1));
    expect(db.get('notes')?.yjsBase64).toBeTruthy();

    // The app changes the body behind the server's back: the room is already stored, so Tandem's own
    // copy wins and nothing is loaded twice.
    db.putBody('notes', 'edited elsewhere');
    for (const p of providers.splice(0)) p.destroy();
    await server!.drain();
    await start();
    const again = open('notes');
    await again.whenSynced();
    expect(text(again)).toBe('Draft v2');
  });
});
