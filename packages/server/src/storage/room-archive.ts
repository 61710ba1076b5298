import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { mergeUpdates } from '../rooms/merge-updates.js';
import { checkUpdate } from '../rooms/update-check.js';
import { RoomExistsError, type RoomDump, type Store } from './store.js';

/**
 * The archive `tandem export` writes and `tandem import` reads: newline-delimited JSON, one header line,
 * one line per room (binary fields in base64), one trailer line with the room count — so a file cut
 * short is refused rather than imported as if it were whole. One room is held in memory at a time.
 */
export const ARCHIVE_FORMAT = 'tandem-rooms';
export const ARCHIVE_VERSION = 1;

const PAGE = 500;
// A room's revisions are read in one call (they have no paging); no deployment keeps this many.
const ALL_REVISIONS = 2_147_483_647;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
const count = z.number().int().nonnegative();
const headerLine = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  version: z.literal(ARCHIVE_VERSION),
  exportedAt: count,
});
const roomLine = z.object({
  room: z.object({
    name: z.string().min(1),
    createdAt: count.nullable(),
    updatedAt: count.nullable(),
    lastSeq: count,
    state: base64.nullable(),
    collaborators: z.array(z.object({ user: z.string().min(1), role: z.enum(['owner', 'editor', 'viewer']) })),
    events: z.array(
      z.object({
        id: z.number().int().positive(),
        type: z.string().min(1),
        ts: count,
        user: z.string().nullable(),
        data: z.unknown(),
      }),
    ),
    eventHorizon: count,
    revisions: z.array(
      z.object({
        id: z.number().int().positive(),
        label: z.string(),
        ts: count,
        user: z.string().nullable(),
        state: base64,
      }),
    ),
  }),
});
const trailerLine = z.object({ end: z.literal(true), rooms: count });

/** A malformed or incomplete archive, with the line it was found on. */
export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

const toBase64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** Reads one room through the Store's public reads; null when the room vanished meanwhile. */
export async function dumpRoom(store: Store, name: string): Promise<RoomDump | null> {
  const [info, stored, collaborators, eventHorizon, revisionList] = await Promise.all([
    store.getRoomInfo(name),
    store.loadRoom(name),
    store.listCollaborators(name),
    store.eventHorizon(name),
    store.listRevisions(name, { limit: ALL_REVISIONS }),
  ]);
  const events = [];
  for (let since = 0; ;) {
    const page = await store.listEvents(name, { since, limit: PAGE });
    events.push(...page);
    if (page.length < PAGE) break;
    since = page.at(-1)!.id;
  }
  const revisions = [];
  for (const r of revisionList.reverse()) {
    const full = await store.getRevision(name, r.id);
    if (full) revisions.push(full);
  }
  const parts = stored ? [...(stored.snapshot ? [stored.snapshot] : []), ...stored.updates] : [];
  if (!info && parts.length === 0 && collaborators.length === 0 && events.length === 0 && revisions.length === 0) {
    return null;
  }
  return {
    name,
    createdAt: info?.createdAt ?? null,
    updatedAt: info?.updatedAt ?? null,
    lastSeq: stored?.lastSeq ?? info?.lastSeq ?? 0,
    state: parts.length > 0 ? mergeUpdates(parts) : null,
    collaborators,
    events,
    eventHorizon,
    revisions,
  };
}

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

/** Writes every room of the store to `out`; resolves with how many. */
export async function exportRooms(
  store: Store,
  out: Writable,
  onRoom: (name: string) => void = () => undefined,
): Promise<number> {
  await write(out, line({ format: ARCHIVE_FORMAT, version: ARCHIVE_VERSION, exportedAt: Date.now() }));
  let rooms = 0;
  for (let after: string | undefined; ;) {
    const names = await store.listRoomNames({ after, limit: PAGE });
    for (const name of names) {
      const dump = await dumpRoom(store, name);
      if (!dump) continue;
      await write(
        out,
        line({
          room: {
            ...dump,
            state: dump.state && toBase64(dump.state),
            revisions: dump.revisions.map(({ size: _size, state, ...r }) => ({ ...r, state: toBase64(state) })),
          },
        }),
      );
      rooms++;
      onRoom(name);
    }
    if (names.length < PAGE) break;
    after = names.at(-1);
  }
  await write(out, line({ end: true, rooms }));
  return rooms;
}

export interface ImportResult {
  imported: number;
  skipped: string[];
}

function parseLine<T>(schema: z.ZodType<T>, text: string, lineNo: number, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ArchiveError(`line ${lineNo}: not JSON (expected ${what})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ArchiveError(`line ${lineNo}: ${what}: ${issue.path.join('.') || '(line)'}: ${issue.message}`);
  }
  return parsed.data;
}

function toDump(room: z.infer<typeof roomLine>['room'], lineNo: number): RoomDump {
  const state = room.state === null ? null : fromBase64(room.state);
  const revisions = room.revisions.map((r) => {
    const bytes = fromBase64(r.state);
    return { ...r, size: bytes.length, state: bytes };
  });
  try {
    if (state) checkUpdate(state);
    for (const r of revisions) checkUpdate(r.state);
  } catch (err) {
    throw new ArchiveError(`line ${lineNo}: room "${room.name}": ${(err as Error).message}`);
  }
  // Stores key events and revisions by id: a repeated id would fail the whole room's commit.
  for (const [what, ids] of [
    ['event', room.events.map((e) => e.id)],
    ['revision', room.revisions.map((r) => r.id)],
  ] as const) {
    if (new Set(ids).size !== ids.length) {
      throw new ArchiveError(`line ${lineNo}: room "${room.name}": repeated ${what} id`);
    }
  }
  return { ...room, state, revisions };
}

/**
 * Imports every room of an archive, each in one commit. A room that already exists in the target is
 * an error (imports never merge) unless `skipExisting`; an archive without its trailer is an error
 * after the rooms before the cut are in.
 */
export async function importRooms(
  store: Store,
  input: Readable,
  options: { skipExisting?: boolean; onRoom?: (name: string) => void } = {},
): Promise<ImportResult> {
  const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const result: ImportResult = { imported: 0, skipped: [] };
  let lineNo = 0;
  let seen = 0;
  let ended = false;
  let headerSeen = false;
  for (;;) {
    // A failed read (a corrupt gzip stream, a vanished file) is the archive's fault, not the store's.
    let next: IteratorResult<string>;
    try {
      next = await lines.next();
    } catch (err) {
      throw new ArchiveError(`cannot read the archive: ${(err as Error).message}`);
    }
    if (next.done) break;
    const text = next.value;
    lineNo++;
    if (text.trim() === '') continue;
    if (ended) throw new ArchiveError(`line ${lineNo}: content after the end of the archive`);
    if (!headerSeen) {
      headerSeen = true;
      parseLine(headerLine, text, lineNo, `a ${ARCHIVE_FORMAT} v${ARCHIVE_VERSION} header`);
      continue;
    }
    if (text.startsWith('{"end"')) {
      const trailer = parseLine(trailerLine, text, lineNo, 'the trailer');
      if (trailer.rooms !== seen) {
        throw new ArchiveError(`line ${lineNo}: the trailer counts ${trailer.rooms} rooms, the archive holds ${seen}`);
      }
      ended = true;
      continue;
    }
    const dump = toDump(parseLine(roomLine, text, lineNo, 'a room').room, lineNo);
    seen++;
    try {
      await store.importRoom(dump);
      result.imported++;
      options.onRoom?.(dump.name);
    } catch (err) {
      if (!(err instanceof RoomExistsError) || !options.skipExisting) throw err;
      result.skipped.push(dump.name);
    }
  }
  if (!headerSeen) throw new ArchiveError('the archive is empty');
  if (!ended) throw new ArchiveError(`the archive ends after line ${lineNo} without its trailer: it was cut short`);
  return result;
}
