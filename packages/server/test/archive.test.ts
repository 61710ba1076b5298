import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { PostgresStore } from '../src/storage/postgres/postgres-store.js';
import { dumpRoom } from '../src/storage/room-archive.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { RoomDump, Store } from '../src/storage/store.js';
import { dropSchemas, freshSchema, needPostgres, TEST_DATABASE_URL } from './support/postgres.js';
import { textUpdate } from './support/text-update.js';

const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/tandem.mjs', import.meta.url));
const tandem = (...args: string[]) => exec(process.execPath, [BIN, ...args], { env: { ...process.env, CI: '' } });
const failure = (...args: string[]) =>
  tandem(...args).then(
    () => {
      throw new Error(`tandem ${args[0]} succeeded`);
    },
    (err: { code: number; stderr: string }) => err,
  );

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-archive-'));
  dirs.push(dir);
  return dir;
};
const schemas: string[] = [];
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await dropSchemas(schemas);
});

/** Rooms of every shape an export must carry: a compacted log with a tail, pruned events, revisions, rooms with only collaborators or only events, names with every allowed punctuation. */
async function populate(store: Store): Promise<void> {
  const doc = new Y.Doc();
  doc.clientID = 11;
  for (let i = 0; i < 12; i++) {
    const before = Y.encodeStateVector(doc);
    doc.getText('body').insert(0, `line ${i}\n`);
    doc.getMap('meta').set(`k${i}`, { n: i, tags: ['a', 'b'] });
    await store.appendUpdate('team/notes', Y.encodeStateAsUpdate(doc, before));
    if (i === 7) await store.compact('team/notes', 8, Y.encodeStateAsUpdate(doc));
  }
  await store.setCollaborator('team/notes', 'ada', 'owner');
  await store.setCollaborator('team/notes', 'bob', 'viewer');
  for (let i = 1; i <= 6; i++) {
    await store.appendEvent('team/notes', {
      type: 'app.note',
      user: i % 2 ? 'ada' : null,
      data: { i, text: 'é ✓ "q"' },
    });
  }
  await store.pruneEvents('team/notes', 4);
  await store.createRevision('team/notes', { label: 'first draft', user: 'ada', state: Y.encodeStateAsUpdate(doc) });
  await store.createRevision('team/notes', { label: 'auto', user: null, state: textUpdate('older', 3) });
  await store.setCollaborator('empty-but-owned', 'eve', 'editor');
  await store.appendEvent('feed.only', { type: 'x.y', user: 'bob', data: [1, null, { deep: { er: true } }] });
  await store.appendUpdate('team-42/a~b@c+d=e,f:g', textUpdate('hello', 5));
}

/** Everything a store holds for each room, as the export reads it; Yjs states compared by content. */
async function contents(store: Store): Promise<unknown[]> {
  const names = await store.listRoomNames({ limit: 100 });
  const rooms = (await Promise.all(names.map((n) => dumpRoom(store, n)))) as RoomDump[];
  return rooms.map(({ state, ...rest }) => {
    const doc = new Y.Doc();
    if (state) Y.applyUpdate(doc, state);
    return { ...rest, document: doc.toJSON(), stateVector: [...Y.encodeStateVector(doc)] };
  });
}

const runPostgres = await needPostgres('the export/import suite into PostgreSQL');

type ArchivedRoom = { name: string; state: string | null; collaborators: { user: string; role: string }[] };
const roomOf = (line: string): ArchivedRoom => (JSON.parse(line) as { room: ArchivedRoom }).room;
/** A room line as export writes it, with the checksum of exactly this JSON. */
const roomLine = (room: ArchivedRoom): string => {
  const json = JSON.stringify(room);
  return `{"sha256":"${createHash('sha256').update(json).digest('hex')}","room":${json}}`;
};

/** Exports the populated store: the archive, the data dir it came from, and its lines. */
async function exported(): Promise<{ file: string; from: string; lines: string[] }> {
  const from = tempDir();
  const source = new SqliteStore(join(from, 'tandem.db'));
  await populate(source);
  await source.close();
  const file = join(tempDir(), 'rooms.ndjson');
  await tandem('export', file, '--data-dir', from);
  return { file, from, lines: readFileSync(file, 'utf8').trimEnd().split('\n') };
}
const exportedLines = async (): Promise<string[]> => (await exported()).lines;

const importLines = async (lines: string[], ...options: string[]) => {
  const file = join(tempDir(), 'in.ndjson');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return failure('import', file, '--data-dir', tempDir(), ...options);
};

describe('tandem export / import', () => {
  it.runIf(runPostgres)('moves every room from SQLite to PostgreSQL unchanged', async () => {
    const dataDir = tempDir();
    const source = new SqliteStore(join(dataDir, 'tandem.db'));
    await populate(source);
    const expected = await contents(source);
    await source.close();
    expect(expected).toHaveLength(4);

    const file = join(tempDir(), 'rooms.ndjson');
    const exported = await tandem('export', file, '--store', 'sqlite', '--data-dir', dataDir);
    expect(exported.stderr).toMatch(/exported 4 rooms/);

    const schema = freshSchema();
    schemas.push(schema);
    const target = ['--store', 'postgres', '--database-url', TEST_DATABASE_URL, '--database-schema', schema];
    const imported = await tandem('import', file, ...target);
    expect(imported.stderr).toMatch(/imported 4 rooms/);

    const pg = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    try {
      expect(await contents(pg)).toEqual(expected);
      // The log goes on where it was: the next update, event and revision numbers follow the source's.
      expect(await pg.appendUpdate('team/notes', textUpdate('next', 99))).toBe(13);
      expect((await pg.appendEvent('team/notes', { type: 'n', user: null, data: 1 })).event.id).toBe(7);
      expect((await pg.createRevision('team/notes', { label: 'x', user: null, state: textUpdate('x') })).id).toBe(3);
    } finally {
      await pg.close();
    }

    // A second import never merges into what is there.
    const again = await failure('import', file, ...target);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/room "empty-but-owned" already exists in the target store/);
    const skipped = await tandem('import', file, ...target, '--skip-existing');
    expect(skipped.stderr).toMatch(/imported 0 rooms, skipped 4/);
  });

  it('round-trips through a gzip archive between two SQLite stores', async () => {
    const from = tempDir();
    const source = new SqliteStore(join(from, 'tandem.db'));
    await populate(source);
    const expected = await contents(source);
    await source.close();
    const file = join(tempDir(), 'rooms.ndjson.gz');
    await tandem('export', file, '--data-dir', from);
    expect(readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const to = tempDir();
    await tandem('import', file, '--data-dir', to);
    const target = new SqliteStore(join(to, 'tandem.db'));
    try {
      expect(await contents(target)).toEqual(expected);
    } finally {
      await target.close();
    }
  });

  it('refuses an archive cut short, a damaged room, and an existing output file, with the reason', async () => {
    const { file, from, lines } = await exported();

    const overwrite = await failure('export', file, '--data-dir', from);
    expect(overwrite.stderr).toMatch(/EEXIST/);

    const cut = join(tempDir(), 'cut.ndjson');
    writeFileSync(cut, `${lines.slice(0, -1).join('\n')}\n`);
    const to = tempDir();
    const truncated = await failure('import', cut, '--data-dir', to);
    expect(truncated.stderr).toMatch(/without its trailer: it was cut short \(4 rooms were imported before this\)/);

    // A room rewritten with a fresh checksum (a buggy or hostile exporter): its content is still checked.
    const room = roomOf(lines[1]!);
    room.state = Buffer.from([255, 255, 255, 1, 2]).toString('base64');
    const damaged = join(tempDir(), 'damaged.ndjson');
    writeFileSync(damaged, [lines[0], roomLine(room), ...lines.slice(2)].join('\n'));
    const bad = await failure('import', damaged, '--data-dir', tempDir());
    expect(bad.stderr).toMatch(/line 2: room ".*": malformed Yjs update/);

    const corrupt = join(tempDir(), 'corrupt.ndjson.gz');
    writeFileSync(corrupt, Buffer.from('not gzip at all, just bytes'));
    expect((await failure('import', corrupt, '--data-dir', tempDir())).stderr).toMatch(/cannot read the archive/);

    const notArchive = join(tempDir(), 'other.ndjson');
    writeFileSync(notArchive, '{"hello":1}\n');
    expect((await failure('import', notArchive, '--data-dir', tempDir())).stderr).toMatch(/line 1: .*header/);
  });

  it('refuses a room changed by one character, naming it, and lines moved or removed', async () => {
    const lines = await exportedLines();
    const target = tempDir();
    // One base64 character of a room's state changed: still base64, still a plausible Yjs update.
    const n = lines.findIndex((l) => l.includes('"name":"team/notes"'));
    const line = lines[n]!;
    const at = line.indexOf('"state":"') + 40;
    const flipped = line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1);
    const changed = await importLines(lines.map((l, i) => (i === n ? flipped : l)));
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(
      new RegExp(
        `line ${n + 1}: room "team/notes": checksum does not match.*\\(${n - 1} rooms were imported before this\\)`,
      ),
    );
    // Two rooms swapped: each is intact, the archive is not.
    const swapped = await importLines([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]);
    expect(swapped.stderr).toMatch(/the archive's checksum does not match/);
    // The untouched archive imports.
    const whole = join(tempDir(), 'whole.ndjson');
    writeFileSync(whole, `${lines.join('\n')}\n`);
    expect((await tandem('import', whole, '--data-dir', target)).stderr).toMatch(/imported 4 rooms/);
  });

  it('applies the server limits to what it imports', async () => {
    const lines = await exportedLines();
    const n = lines.findIndex((l) => l.includes('"name":"team/notes"'));
    const room = roomOf(lines[n]!);
    const withRoom = (changed: ArchivedRoom) => lines.map((l, i) => (i === n ? roomLine(changed) : l));
    const longUser = await importLines(
      withRoom({ ...room, collaborators: [{ user: 'u'.repeat(100_000), role: 'owner' }] }),
    );
    expect(longUser.stderr).toMatch(new RegExp(`line ${n + 1}: .*user ids are 1-128 chars`));
    const badName = await importLines(withRoom({ ...room, name: 'a/../b' }));
    expect(badName.stderr).toMatch(new RegExp(`line ${n + 1}: .*room names are 1-256 chars`));
    const bigState = Buffer.from(textUpdate('x'.repeat(5_000), 9)).toString('base64');
    const big = await importLines(withRoom({ ...room, state: bigState }), '--max-document-bytes', '1024');
    expect(big.stderr).toMatch(/room "team\/notes": state is \d+ bytes, over --max-document-bytes \(1024\)/);
  });

  it('still reads a version 1 archive (no checksums)', async () => {
    const lines = await exportedLines();
    const v1 = [
      lines[0]!.replace('"version":2', '"version":1'),
      ...lines.slice(1, -1).map((l) => JSON.stringify({ room: roomOf(l) })),
      JSON.stringify({ end: true, rooms: lines.length - 2 }),
    ];
    const file = join(tempDir(), 'v1.ndjson');
    writeFileSync(file, `${v1.join('\n')}\n`);
    expect((await tandem('import', file, '--data-dir', tempDir())).stderr).toMatch(/imported 4 rooms/);
  });
});
