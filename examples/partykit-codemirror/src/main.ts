import { AppDatabase } from './app-database.js';
import { startCollabServer } from './collab-server.js';

// `npm start -w @tandem/example-partykit-codemirror`: the collaboration server on :1234 over ./app.db.
const db = new AppDatabase(process.env.APP_DB ?? 'app.db');
const server = await startCollabServer(db, { port: Number(process.env.PORT ?? 1234), dataDir: 'data-example' });
process.stdout.write(`collaboration server on ${server.syncUrl}/<room>\n`);
const stop = (): void => {
  void server.drain().then(() => {
    db.close();
    process.exit(0);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
