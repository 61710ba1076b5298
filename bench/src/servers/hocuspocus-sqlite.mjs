// @hocuspocus/server 3.x with @hocuspocus/extension-sqlite: the whole document is stored, debounced
// (Hocuspocus' defaults: 2 s, at most 10 s), in a SQLite file in the directory the harness gives.
import { SQLite } from '@hocuspocus/extension-sqlite';
import { Server } from '@hocuspocus/server';

const [port, dataDir] = process.argv.slice(2);
const server = new Server({
  port: Number(port),
  address: '127.0.0.1',
  quiet: true,
  extensions: [new SQLite({ database: `${dataDir}/hocuspocus.sqlite` })],
});
await server.listen();
