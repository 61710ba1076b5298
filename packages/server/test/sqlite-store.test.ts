import { join } from 'node:path';
import { SqliteStore } from '../src/storage/sqlite-store.js';
import { storeConformance } from './support/store-conformance.js';
import { tempDir } from './support/server.js';

let current: { dir: string; cleanup: () => void } | null = null;

storeConformance('SqliteStore', {
  create() {
    current = tempDir('tandem-sqlite-');
    return new SqliteStore(join(current.dir, 'tandem.db'));
  },
  reopen() {
    return new SqliteStore(join(current!.dir, 'tandem.db'));
  },
  cleanup() {
    current?.cleanup();
    current = null;
  },
});
