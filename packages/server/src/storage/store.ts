/** What a room's durable state looks like when read back: one snapshot plus the log tail after it. */
export interface StoredRoom {
  /** Merged Yjs state containing at least every update with seq <= snapshotSeq; null before the first compaction. */
  snapshot: Uint8Array | null;
  snapshotSeq: number;
  /** Updates with seq > snapshotSeq, in seq order. */
  updates: Uint8Array[];
  /** Highest seq ever appended to the room (0 for none). */
  lastSeq: number;
}

import type { Role } from '../auth/roles.js';
import type { Leadership } from './leadership.js';

export interface Collaborator {
  user: string;
  role: Role;
}

export interface RoomInfo {
  name: string;
  /** ms since epoch */
  createdAt: number;
  updatedAt: number;
  /** Updates ever appended (the room's log position). */
  lastSeq: number;
}

/** A stored app or server event; the wire envelope is this plus the room name. */
export interface StoredEvent {
  /** Monotonic per room, starting at 1. */
  id: number;
  type: string;
  ts: number;
  user: string | null;
  data: unknown;
}

/** An event with its room and its place in the store-wide order of appends (for delivery cursors). */
export interface LoggedEvent {
  /** Increases with every append across all rooms (gaps allowed); never reused. */
  position: number;
  room: string;
  event: StoredEvent;
}

export interface NewEvent {
  type: string;
  user: string | null;
  data: unknown;
  /** Same key twice in a room stores one event; the second append returns the first. */
  idempotencyKey?: string;
}

/**
 * Which rooms a listing may show: those a pattern matches (room globs as in a token's `rooms` claim:
 * `*` within a segment, `**` across) or where `collaborator` is in the collaborators table.
 */
export interface RoomVisibility {
  patterns: readonly string[];
  collaborator: string;
}

export interface ListRoomsOptions {
  /** Exclusive lower bound on the name, for paging. */
  after?: string;
  limit: number;
  /** Only rooms matching this; all rooms when absent. Filtered before the limit applies. */
  visibleTo?: RoomVisibility;
}

export interface RevisionInfo {
  id: number;
  label: string;
  ts: number;
  user: string | null;
  /** Byte size of the stored state. */
  size: number;
}

/** What every store has: a readiness check and an orderly close. */
export interface StoreLifecycle {
  /** Cheap round trip for readiness checks; throws when the store is unusable. */
  ping(): Promise<void>;
  /** Finishes pending commits and releases resources. */
  close(): Promise<void>;
}

/*
 * The store's ports: each consumer depends on the smallest one it uses (RoomPersistence on
 * DocumentAppender, RoomAccess on CollaboratorStore, WebhookSender on EventFeed…), so a test double or a
 * new backend for one concern implements that concern only.
 */

/** Writes to a room's durable Yjs log: what a loaded room's persistence needs. */
export interface DocumentAppender {
  /**
   * Appends one Yjs update to the room's log. Resolves with the update's per-room seq only after the
   * commit is durable; appends made in the same tick share one commit (group commit). Seqs are
   * gap-free and assigned in commit order, also with several processes on one store.
   */
  appendUpdate(room: string, update: Uint8Array): Promise<number>;
  /**
   * Folds the log into a snapshot: `state` must contain every update with seq <= uptoSeq. Those updates
   * are dropped; later ones stay. A compaction older than the current snapshot is ignored.
   */
  compact(room: string, uptoSeq: number, state: Uint8Array): Promise<void>;
}

/** The durable Yjs log of each room: the only copy of an acknowledged update. */
export interface DocumentLog extends DocumentAppender {
  /**
   * Null when the room has no document content: never written, or only events, collaborators or
   * revisions (the server treats it as new, so its first writer is recorded as owner).
   */
  loadRoom(room: string): Promise<StoredRoom | null>;
  /**
   * Appends a room's initial content only if the room has no document content yet (atomically, so of
   * two loaders only one stores): resolves with its seq, or null when content was already there.
   */
  appendInitial(room: string, update: Uint8Array): Promise<number | null>;
  /**
   * The updates after `afterSeq`, in seq order, for a reader that has everything up to it (another
   * instance catching up). Null when the room does not exist or a compaction folded part of that range
   * into the snapshot: read `loadRoom` then.
   */
  loadTail(room: string, afterSeq: number): Promise<{ updates: Uint8Array[]; lastSeq: number } | null>;
  /** Each listed room's last seq, in one round trip (rooms never written are left out). */
  lastSeqs(rooms: readonly string[]): Promise<Map<string, number>>;
}

/** Who may do what in a room, beyond what a token's claims say. */
export interface CollaboratorStore {
  getCollaborator(room: string, user: string): Promise<Role | null>;
  /** Sorted by user id. */
  listCollaborators(room: string): Promise<Collaborator[]>;
  setCollaborator(room: string, user: string, role: Role): Promise<void>;
  /** Resolves true if there was such a collaborator. */
  removeCollaborator(room: string, user: string): Promise<boolean>;
}

/** Which rooms exist, with their times and log position. */
export interface RoomListing {
  getRoomInfo(room: string): Promise<RoomInfo | null>;
  /** Up to `limit` rooms sorted by name, after `after`, of those `visibleTo` allows: one query per page. */
  listRooms(options: ListRoomsOptions): Promise<RoomInfo[]>;
}

/** Each room's events, numbered per room. */
export interface EventLog {
  /** Appends an event (or returns the existing one for a repeated idempotency key); creates the room if new. */
  appendEvent(room: string, event: NewEvent): Promise<{ event: StoredEvent; duplicate: boolean }>;
  /** Events with id > since, oldest first. */
  listEvents(room: string, options: { since: number; limit: number }): Promise<StoredEvent[]>;
  /**
   * Deletes the room's events except the newest `keepLast` (their idempotency keys with them) and
   * remembers the highest id deleted; ids are never handed out again. Resolves with how many went.
   */
  pruneEvents(room: string, keepLast: number): Promise<number>;
  /** The highest event id pruned from the room (0 if none): a reader at `since` below it missed events. */
  eventHorizon(room: string): Promise<number>;
}

/** Every room's events in one store-wide order, with named cursors into it (webhook delivery). */
export interface EventFeed {
  /** Events of every room after `position`, in append order. */
  listEventsAfter(position: number, limit: number): Promise<LoggedEvent[]>;
  /** The position of the newest event (0 for none). */
  lastEventPosition(): Promise<number>;
  /** A named position that survives restarts (a webhook URL's delivery cursor); null if never set. */
  getCursor(name: string): Promise<number | null>;
  setCursor(name: string, position: number): Promise<void>;
}

/** Named snapshots of a room's document. */
export interface RevisionStore {
  createRevision(
    room: string,
    revision: { label: string; user: string | null; state: Uint8Array },
  ): Promise<RevisionInfo>;
  /** Newest first. */
  listRevisions(room: string, options: { limit: number }): Promise<RevisionInfo[]>;
  getRevision(room: string, id: number): Promise<(RevisionInfo & { state: Uint8Array }) | null>;
}

/** Everything about a room but its document: collaborators, events, revisions, the listing. */
export interface RoomData extends CollaboratorStore, RoomListing, EventLog, EventFeed, RevisionStore {}

/** One room as `tandem export` writes it and `importRoom` takes it: ids and times kept. */
export interface RoomDump {
  name: string;
  /** Null for a room that has only collaborators or revisions (no store keeps room info for those). */
  createdAt: number | null;
  updatedAt: number | null;
  /** The room's log position; the import stores `state` as a snapshot at this seq. */
  lastSeq: number;
  /** Merged Yjs state of every update (null for a room without document content). */
  state: Uint8Array | null;
  collaborators: Collaborator[];
  /** Oldest first. */
  events: StoredEvent[];
  eventHorizon: number;
  /** Oldest first. */
  revisions: (RevisionInfo & { state: Uint8Array })[];
}

/**
 * The durability seam: a document log and room data behind one commit order. Implementations:
 * MemoryStore (tests, `--store memory`), SqliteStore, PostgresStore; every one passes the conformance
 * suite exported as `@tandem/server/testing`.
 *
 * Write order: the writes of one room (appends, compactions, deletes, collaborators, events,
 * revisions) take effect in the order they were called, whatever their implementation batches: a
 * collaborator set after `deleteRoom` was called survives the delete; one set before it does not.
 * This rule spans both halves, which is why one implementation serves both: a log and room data in
 * two engines could not order a delete against a collaborator write.
 */
export interface Store extends DocumentLog, RoomData, StoreLifecycle {
  /**
   * Who does deployment-wide jobs (webhook delivery) among the instances sharing this store, declared
   * by the store rather than guessed from its class: a store several processes share (PostgreSQL)
   * grants each named lease to one of them; a store one process owns gives `soleLeadership`.
   */
  readonly leadership: Leadership;
  /**
   * Resolves once the store can be used (connected, migrated); rejects with the reason, and the store
   * should then be closed. Nothing is served from a store before this.
   */
  whenReady(): Promise<void>;
  /** Removes the room's updates, snapshot, collaborators, events and revisions. */
  deleteRoom(room: string): Promise<void>;
  /**
   * Names of every room with anything stored — document, events, collaborators or revisions — sorted,
   * after `after`: what an export must cover, wider than `listRooms`, which shows rooms with content.
   */
  listRoomNames(options: { after?: string; limit: number }): Promise<string[]>;
  /**
   * Writes a whole room in one commit, keeping its ids, times and log position (an import from
   * another store). Rejects with RoomExistsError when anything is stored for the room already.
   */
  importRoom(dump: RoomDump): Promise<void>;
}

/** `Store.importRoom` into a room that already has something stored: imports never merge. */
/** Whether importing the dump must write room info: it has a document, events or pruned events. */
export function dumpNeedsRoomInfo(dump: RoomDump): boolean {
  return dump.lastSeq > 0 || dump.state !== null || dump.events.length > 0 || dump.eventHorizon > 0;
}

export class RoomExistsError extends Error {
  constructor(readonly room: string) {
    super(`room "${room}" already exists in the target store`);
    this.name = 'RoomExistsError';
  }
}

/**
 * Thrown by `Store.ping()` when the store is reachable but cannot make writes durable (a full disk, a
 * read-only file): readiness reports `store_cannot_commit` rather than `store_unreachable`.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
