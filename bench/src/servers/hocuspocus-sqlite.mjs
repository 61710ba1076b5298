// @hocuspocus/server 3.x with its SQLite persistence: the whole document is stored, debounced
// (Hocuspocus' defaults: 2 s, at most 10 s), in a SQLite file in the directory the harness gives.
// @hocuspocus/extension-sqlite is its `Database` extension over the native `sqlite3` addon, whose
// compile step was the last one in our install; this is the same extension, schema and queries
// (copied from extension-sqlite 3.4) over the built-in `node:sqlite`. The one difference: sqlite3
// ran the debounced store on libuv's pool, this runs it on the event loop (both count as the
// process's CPU).
import { Database } from '@hocuspocus/extension-database';
import { Server } from '@hocuspocus/server';
import { DatabaseSync } from 'node:sqlite';

const [port, dataDir] = process.argv.slice(2);
const db = new DatabaseSync(`${dataDir}/hocuspocus.sqlite`);
db.exec(`CREATE TABLE IF NOT EXISTS "documents" (
  "name" varchar(255) NOT NULL,
  "data" blob NOT NULL,
  UNIQUE(name)
)`);
const select = db.prepare('SELECT data FROM "documents" WHERE name = $name ORDER BY rowid DESC');
const upsert = db.prepare(
  'INSERT INTO "documents" ("name", "data") VALUES ($name, $data) ON CONFLICT(name) DO UPDATE SET data = $data',
);
const server = new Server({
  port: Number(port),
  address: '127.0.0.1',
  quiet: true,
  extensions: [
    new Database({
      fetch: async ({ documentName }) => select.get({ name: documentName })?.data ?? null,
      store: async ({ documentName, state }) => void upsert.run({ name: documentName, data: state }),
    }),
  ],
});
await server.listen();
