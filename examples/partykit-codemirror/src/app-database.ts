import { DatabaseSync } from 'node:sqlite';

/** A row of the app's own table: the Yjs state once Tandem saved one, else the plain-text body it started with. */
export interface DocumentRow {
  room: string;
  yjsBase64: string | null;
  body: string | null;
  savedAt: number | null;
}

/**
 * The app's database, as the PartyKit app has one: documents keyed by room, written by the app (a body
 * typed in a form, an import) and by the collaboration server's autosave.
 */
export class AppDatabase {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS documents (
      room TEXT PRIMARY KEY,
      yjs_base64 TEXT,
      body TEXT,
      saved_at INTEGER
    )`);
  }

  get(room: string): DocumentRow | null {
    const row = this.db.prepare('SELECT room, yjs_base64, body, saved_at FROM documents WHERE room = ?').get(room) as
      { room: string; yjs_base64: string | null; body: string | null; saved_at: number | null } | undefined;
    return row ? { room: row.room, yjsBase64: row.yjs_base64, body: row.body, savedAt: row.saved_at } : null;
  }

  /** What the app itself writes: a document that exists only as text so far. */
  putBody(room: string, body: string): void {
    this.db
      .prepare('INSERT INTO documents (room, body) VALUES (?, ?) ON CONFLICT(room) DO UPDATE SET body = excluded.body')
      .run(room, body);
  }

  /** The autosave: the Yjs state (for the next load) and the text (for the app's own pages and search). */
  save(room: string, yjsBase64: string, body: string): void {
    this.db
      .prepare(
        `INSERT INTO documents (room, yjs_base64, body, saved_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(room) DO UPDATE SET yjs_base64 = excluded.yjs_base64, body = excluded.body, saved_at = excluded.saved_at`,
      )
      .run(room, yjsBase64, body, Date.now());
  }

  close(): void {
    this.db.close();
  }
}
