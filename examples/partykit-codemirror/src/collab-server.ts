import { parseConfig, startServer, type ConfigInput, type Extension, type TandemServer } from '@tandem/server';
import * as Y from 'yjs';
import type { AppDatabase } from './app-database.js';

/** The Y.Text the editor binds to (`ydoc.getText('codemirror')` with y-codemirror.next). */
export const FIELD = 'codemirror';
/** Sent after each autosave, so open clients can refresh what they show from the app's database. */
export const SAVED_EVENT = 'app.document_saved';

/**
 * The PartyKit app's server logic as a Tandem extension: on first open, load the room from the app's
 * database — its base64 Yjs state if it has one, else its plain-text body, else nothing — and save it
 * back (debounced) whenever it changes, then tell the room's clients with an event.
 */
export function appDatabaseExtension(db: AppDatabase, onSaved: (room: string) => void): Extension {
  return {
    name: 'app-database',
    onLoadDocument({ room }) {
      const row = db.get(room);
      if (row?.yjsBase64) return { yjs: row.yjsBase64 };
      if (row?.body) return { text: row.body, field: FIELD };
      return null;
    },
    async onChange({ room, read }) {
      const { state, body } = await read((doc) => ({
        state: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64'),
        body: doc.getText(FIELD).toString(),
      }));
      db.save(room, state, body);
      onSaved(room);
    },
  };
}

export async function startCollabServer(db: AppDatabase, config: ConfigInput = {}): Promise<TandemServer> {
  // The event needs the server, and the server needs the extension: bound once it exists.
  let server: TandemServer | null = null;
  const extension = appDatabaseExtension(db, (room) => {
    server?.events.emitServerEvent(room, SAVED_EVENT, null, { savedAt: Date.now() });
  });
  server = await startServer(parseConfig({ roomUpdatedDebounceMs: 1_000, ...config }), { extensions: [extension] });
  return server;
}
