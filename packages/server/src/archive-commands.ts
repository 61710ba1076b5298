import { createReadStream, createWriteStream, openSync, rmSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip, createGzip } from 'node:zlib';
import { ConfigError, configEnvName, configFlagName, configFromSources, type Config } from './ops/config.js';
import { createLogger } from './ops/logger.js';
import { createStore, whenStoreReady } from './server.js';
import { exportRooms, importRooms } from './storage/room-archive.js';

export const EXPORT_USAGE = `Usage: tandem export <file> [store options]     (file "-" = stdout; ".gz" = gzip)
       tandem import <file> [store options] [--skip-existing]

Copies every room (Yjs state, collaborators, events, revisions; ids and times kept) out of a store or
into one, e.g. from SQLite to PostgreSQL. Stop the servers writing to the source first (a SQLite file
is locked while a server runs). An import never merges: a room that already exists in the target
stops it, unless --skip-existing. Imported events are history: webhooks do not deliver them again.

Archives carry a checksum per room and one for the whole file: an import refuses a changed or damaged
room, naming it, before it is stored, and applies the server's limits (room names, collaborator ids,
event types and sizes, --max-document-bytes for states and revisions).

Store options (as for serve; also TANDEM_* env vars):
  --store sqlite|postgres|memory   --data-dir <dir>   --database-url <url>   --database-schema <name>
  --max-document-bytes <n>         (import) largest room state or revision accepted (default 67108864)
`;

const STORE_KEYS = [
  'store',
  'dataDir',
  'databaseUrl',
  'databaseSchema',
  'maxDocumentBytes',
] as const satisfies (keyof Config)[];

function storeOptions(): Record<string, { type: 'string' }> {
  return Object.fromEntries(STORE_KEYS.map((k) => [configFlagName(k).slice(2), { type: 'string' as const }]));
}

/** Only the store's own settings: the rest of a server's environment has no say here. */
function storeConfig(values: Record<string, unknown>): Config {
  const flags: Record<string, string | undefined> = {};
  const env: NodeJS.ProcessEnv = {};
  for (const key of STORE_KEYS) {
    const flag = values[configFlagName(key).slice(2)];
    flags[key] = typeof flag === 'string' ? flag : undefined;
    env[configEnvName(key)] = process.env[configEnvName(key)];
  }
  return configFromSources(flags, env);
}

const openStore = (config: Config) => whenStoreReady(createStore(config, createLogger('warn')));

function fileArgument(positionals: string[], command: string): string {
  if (positionals.length !== 1)
    throw new ConfigError(
      `tandem ${command} needs one file argument ("-" for std${command === 'export' ? 'out' : 'in'})`,
    );
  return positionals[0]!;
}

export async function exportCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...storeOptions(), help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return void process.stdout.write(EXPORT_USAGE);
  const file = fileArgument(positionals, 'export');
  const config = storeConfig(values);
  if (config.store === 'memory') throw new ConfigError('a memory store holds nothing to export');
  const store = await openStore(config);
  let written: string | null = null;
  try {
    // Opened here, not by the stream: a missing directory or an existing file is reported before any work.
    const sink: Writable = file === '-' ? process.stdout : createWriteStream(file, { fd: openSync(file, 'wx') });
    if (file !== '-') written = file;
    const gzip = file.endsWith('.gz') ? createGzip() : null;
    if (gzip) gzip.pipe(sink);
    const failed = new Promise<never>((_, reject) => sink.once('error', reject));
    const rooms = await Promise.race([exportRooms(store, gzip ?? sink), failed]);
    // stdout is never ended; a file is finished once everything reached it.
    if (gzip) gzip.end();
    else if (sink !== process.stdout) sink.end();
    const last = sink === process.stdout ? gzip : sink;
    if (last) await Promise.race([finished(last), failed]);
    process.stderr.write(`exported ${rooms} rooms${file === '-' ? '' : ` to ${file}`}\n`);
    written = null;
  } finally {
    // A failed export leaves no half archive behind to be mistaken for a whole one (or block a retry).
    if (written) rmSync(written, { force: true });
    await store.close();
  }
}

export async function importCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...storeOptions(), 'skip-existing': { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return void process.stdout.write(EXPORT_USAGE);
  const file = fileArgument(positionals, 'import');
  const config = storeConfig(values);
  if (config.store === 'memory') throw new ConfigError('importing into a memory store would keep nothing');
  const source: Readable = file === '-' ? process.stdin : createReadStream(file, { fd: openSync(file, 'r') });
  let input = source;
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    // pipe() does not pass errors on: a failing read must end the import like a corrupt stream does.
    source.once('error', (err) => gunzip.destroy(err));
    input = source.pipe(gunzip);
  }
  const store = await openStore(config);
  let imported = 0;
  try {
    const result = await importRooms(store, input, {
      skipExisting: values['skip-existing'] === true,
      onRoom: () => imported++,
      maxDocumentBytes: config.maxDocumentBytes,
    });
    const skipped =
      result.skipped.length > 0 ? `, skipped ${result.skipped.length} that exist: ${result.skipped.join(', ')}` : '';
    process.stderr.write(`imported ${result.imported} rooms${skipped}\n`);
  } catch (err) {
    throw new Error(`${(err as Error).message} (${imported} rooms were imported before this)`, { cause: err });
  } finally {
    source.destroy();
    await store.close();
  }
}
