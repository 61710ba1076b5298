import { isValidRoomName, ROOM_NAME_RULE } from '@tandem/protocol';
import { createHash, type Hash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { USER_ID_PATTERN, USER_ID_RULE } from '../auth/user-id.js';
import { EVENT_TYPE_PATTERN, EVENT_TYPE_RULE, MAX_EVENT_DATA_BYTES } from '../events/event-rules.js';
import { mergeUpdates } from '../yjs/merge-updates.js';
import { checkUpdate } from '../yjs/update-check.js';
import { RoomExistsError, type RoomDump, type Store } from './store.js';

/**
 * The archive `tandem export` writes and `tandem import` reads: newline-delimited JSON, one header line,
 * one line per room (binary fields in base64), one trailer line with the room count — so a file cut
 * short is refused rather than imported as if it were whole. One room is held in memory at a time.
 *
 * Version 2 adds checksums: each room line is `{"sha256":"<hex>","room":<room>}`, the hash of the
 * room's JSON exactly as written, and the trailer carries the hash of every line before it. A changed
 * byte inside a room (base64 stays base64, so nothing else would notice) is refused with the room's
 * name before it is imported; a removed, added or reordered line fails the archive's hash. Version 1
 * archives (no checksums) are still read.
 */
export const ARCHIVE_FORMAT = 'tandem-rooms';
export const ARCHIVE_VERSION = 2;
const ROOM_LINE = /^\{"sha256":"([0-9a-f]{64})","room":(.*)\}$/;

const PAGE = 500;
// A room's revisions are read in one call (they have no paging); no deployment keeps this many.
const ALL_REVISIONS = 2_147_483_647;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
const count = z.number().int().nonnegative();
/** Who wrote an event or revision: a principal's id, which the server does not otherwise restrict. */
const author = z.string().max(1024).nullable();
const headerLine = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  version: z.union([z.literal(1), z.literal(ARCHIVE_VERSION)]),
  exportedAt: count,
});
// The limits the server applies to the same data when it arrives over the API: an archive is input too.
const room = z.object({
  name: z.string().refine(isValidRoomName, { message: ROOM_NAME_RULE }),
  createdAt: count.nullable(),
  updatedAt: count.nullable(),
  lastSeq: count,
  state: base64.nullable(),
  collaborators: z.array(
    z.object({ user: z.string().regex(USER_ID_PATTERN, USER_ID_RULE), role: z.enum(['owner', 'editor', 'viewer']) }),
  ),
  events: z.array(
    z.object({
      id: z.number().int().positive(),
      type: z.string().regex(EVENT_TYPE_PATTERN, EVENT_TYPE_RULE),
      ts: count,
      user: author,
      data: z.unknown().refine((data) => Buffer.byteLength(JSON.stringify(data ?? null)) <= MAX_EVENT_DATA_BYTES, {
        message: `event data is limited to ${MAX_EVENT_DATA_BYTES} bytes of JSON`,
      }),
    }),
  ),
  eventHorizon: count,
  revisions: z.array(
    z.object({
      id: z.number().int().positive(),
      label: z.string().max(200),
      ts: count,
      user: author,
      state: base64,
    }),
  ),
});
const roomLine = z.object({ room });
const trailerLine = z.object({ end: z.literal(true), rooms: count, sha256: z.string().optional() });

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

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Writes lines, hashing each: the trailer carries the hash of everything before it. */
class HashedWriter {
  private readonly hash: Hash = createHash('sha256');
  constructor(private readonly out: Writable) {}

  async write(text: string): Promise<void> {
    this.hash.update(text);
    await this.send(text);
  }

  /** The last line, given the hash of all before it. */
  async finish(lastLine: (sha256: string) => string): Promise<void> {
    await this.send(lastLine(this.hash.digest('hex')));
  }

  private async send(text: string): Promise<void> {
    if (!this.out.write(text)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }
}

/** Writes every room of the store to `out`; resolves with how many. */
export async function exportRooms(
  store: Store,
  out: Writable,
  onRoom: (name: string) => void = () => undefined,
): Promise<number> {
  const writer = new HashedWriter(out);
  await writer.write(line({ format: ARCHIVE_FORMAT, version: ARCHIVE_VERSION, exportedAt: Date.now() }));
  let rooms = 0;
  for (let after: string | undefined; ;) {
    const names = await store.listRoomNames({ after, limit: PAGE });
    for (const name of names) {
      const dump = await dumpRoom(store, name);
      if (!dump) continue;
      const roomJson = JSON.stringify({
        ...dump,
        state: dump.state && toBase64(dump.state),
        revisions: dump.revisions.map(({ size: _size, state, ...r }) => ({ ...r, state: toBase64(state) })),
      });
      await writer.write(`{"sha256":"${sha256(roomJson)}","room":${roomJson}}\n`);
      rooms++;
      onRoom(name);
    }
    if (names.length < PAGE) break;
    after = names.at(-1);
  }
  await writer.finish((sha256) => line({ end: true, rooms, sha256 }));
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

function toDump(room: z.infer<typeof roomLine>['room'], lineNo: number, maxDocumentBytes: number): RoomDump {
  const state = room.state === null ? null : fromBase64(room.state);
  const revisions = room.revisions.map((r) => {
    const bytes = fromBase64(r.state);
    return { ...r, size: bytes.length, state: bytes };
  });
  for (const [what, bytes] of [
    ['state', state],
    ...revisions.map((r) => [`revision ${r.id}`, r.state] as const),
  ] as const) {
    if (bytes && bytes.length > maxDocumentBytes) {
      throw new ArchiveError(
        `line ${lineNo}: room "${room.name}": ${what} is ${bytes.length} bytes, over --max-document-bytes (${maxDocumentBytes})`,
      );
    }
  }
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

/** A room line checked against its own checksum (v2) before anything in it is believed. */
function roomFromLine(text: string, lineNo: number, version: number): z.infer<typeof room> {
  if (version < 2) return parseLine(roomLine, text, lineNo, 'a room').room;
  const match = ROOM_LINE.exec(text);
  if (!match) throw new ArchiveError(`line ${lineNo}: not a room line ({"sha256":…,"room":…})`);
  const [, expected, roomJson] = match as unknown as [string, string, string];
  if (sha256(roomJson) !== expected) {
    const name = /^\{"name":("(?:[^"\\]|\\.)*")/.exec(roomJson)?.[1];
    const named = name ? `room ${name}` : 'a room';
    throw new ArchiveError(`line ${lineNo}: ${named}: checksum does not match: the archive was changed or damaged`);
  }
  return parseLine(room, roomJson, lineNo, 'a room');
}

/**
 * Imports every room of an archive, each in one commit. A room that already exists in the target is
 * an error (imports never merge) unless `skipExisting`; an archive without its trailer is an error
 * after the rooms before the cut are in.
 */
export async function importRooms(
  store: Store,
  input: Readable,
  options: { skipExisting?: boolean; onRoom?: (name: string) => void; maxDocumentBytes?: number } = {},
): Promise<ImportResult> {
  const maxDocumentBytes = options.maxDocumentBytes ?? Infinity;
  const hash = createHash('sha256');
  let version = 0;
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
      version = parseLine(headerLine, text, lineNo, `a ${ARCHIVE_FORMAT} v1 or v${ARCHIVE_VERSION} header`).version;
      hash.update(`${text}\n`);
      continue;
    }
    if (text.startsWith('{"end"')) {
      const trailer = parseLine(trailerLine, text, lineNo, 'the trailer');
      if (trailer.rooms !== seen) {
        throw new ArchiveError(`line ${lineNo}: the trailer counts ${trailer.rooms} rooms, the archive holds ${seen}`);
      }
      if (version >= 2 && trailer.sha256 !== hash.digest('hex')) {
        throw new ArchiveError(
          `line ${lineNo}: the archive's checksum does not match: lines were removed, added, reordered or changed`,
        );
      }
      ended = true;
      continue;
    }
    hash.update(`${text}\n`);
    const dump = toDump(roomFromLine(text, lineNo, version), lineNo, maxDocumentBytes);
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
