import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import type { Role } from '../../src/auth/roles.js';
import type {
  Collaborator,
  ListRoomsOptions,
  LoggedEvent,
  NewEvent,
  RevisionInfo,
  RoomDump,
  RoomInfo,
  Store,
  StoredEvent,
  StoredRoom,
} from '../../src/storage/store.js';

/**
 * Wraps a real store so tests can make it slow, make it fail, or hold commits until released —
 * the faults a disk or database produces, without faking the storage itself.
 */
export class ControllableStore implements Store {
  appendDelayMs = 0;
  loadDelayMs = 0;
  /** Fail this many upcoming appends. */
  failAppends = 0;
  /** Fail this many upcoming loads. */
  failLoads = 0;
  appendCalls = 0;
  /** Make ping() (readiness) fail. */
  unreachable = false;
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  constructor(readonly inner: Store = new MemoryStore()) {}

  get leadership(): Store['leadership'] {
    return this.inner.leadership;
  }

  whenReady(): Promise<void> {
    return this.inner.whenReady();
  }

  /** Appends wait until release() is called. */
  hold(): void {
    this.gate ??= new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
    this.openGate = null;
  }

  async loadRoom(room: string): Promise<StoredRoom | null> {
    if (this.loadDelayMs) await sleep(this.loadDelayMs);
    if (this.failLoads > 0) {
      this.failLoads--;
      throw new Error('injected load failure');
    }
    return this.inner.loadRoom(room);
  }

  async appendUpdate(room: string, update: Uint8Array): Promise<number> {
    this.appendCalls++;
    const copy = update.slice();
    if (this.gate) await this.gate;
    if (this.appendDelayMs) await sleep(this.appendDelayMs);
    if (this.failAppends > 0) {
      this.failAppends--;
      throw new Error('injected commit failure');
    }
    return this.inner.appendUpdate(room, copy);
  }

  async appendInitial(room: string, update: Uint8Array): Promise<number | null> {
    if (this.gate) await this.gate;
    return this.inner.appendInitial(room, update.slice());
  }

  compact(room: string, uptoSeq: number, state: Uint8Array): Promise<void> {
    return this.inner.compact(room, uptoSeq, state);
  }

  deleteRoom(room: string): Promise<void> {
    return this.inner.deleteRoom(room);
  }

  getCollaborator(room: string, user: string): Promise<Role | null> {
    return this.inner.getCollaborator(room, user);
  }

  listCollaborators(room: string): Promise<Collaborator[]> {
    return this.inner.listCollaborators(room);
  }

  setCollaborator(room: string, user: string, role: Role): Promise<void> {
    return this.inner.setCollaborator(room, user, role);
  }

  removeCollaborator(room: string, user: string): Promise<boolean> {
    return this.inner.removeCollaborator(room, user);
  }

  loadTail(room: string, afterSeq: number): Promise<{ updates: Uint8Array[]; lastSeq: number } | null> {
    return this.inner.loadTail(room, afterSeq);
  }

  lastSeqs(rooms: readonly string[]): Promise<Map<string, number>> {
    return this.inner.lastSeqs(rooms);
  }

  listRoomNames(options: { after?: string; limit: number }): Promise<string[]> {
    return this.inner.listRoomNames(options);
  }

  importRoom(dump: RoomDump): Promise<void> {
    return this.inner.importRoom(dump);
  }

  getRoomInfo(room: string): Promise<RoomInfo | null> {
    return this.inner.getRoomInfo(room);
  }

  listRooms(options: ListRoomsOptions): Promise<RoomInfo[]> {
    return this.inner.listRooms(options);
  }

  appendEvent(room: string, event: NewEvent): Promise<{ event: StoredEvent; duplicate: boolean }> {
    return this.inner.appendEvent(room, event);
  }

  listEvents(room: string, options: { since: number; limit: number }): Promise<StoredEvent[]> {
    return this.inner.listEvents(room, options);
  }

  pruneEvents(room: string, keepLast: number): Promise<number> {
    return this.inner.pruneEvents(room, keepLast);
  }

  eventHorizon(room: string): Promise<number> {
    return this.inner.eventHorizon(room);
  }

  listEventsAfter(position: number, limit: number): Promise<LoggedEvent[]> {
    return this.inner.listEventsAfter(position, limit);
  }

  lastEventPosition(): Promise<number> {
    return this.inner.lastEventPosition();
  }

  getCursor(name: string): Promise<number | null> {
    return this.inner.getCursor(name);
  }

  setCursor(name: string, position: number): Promise<void> {
    return this.inner.setCursor(name, position);
  }

  createRevision(
    room: string,
    revision: { label: string; user: string | null; state: Uint8Array },
  ): Promise<RevisionInfo> {
    return this.inner.createRevision(room, revision);
  }

  listRevisions(room: string, options: { limit: number }): Promise<RevisionInfo[]> {
    return this.inner.listRevisions(room, options);
  }

  getRevision(room: string, id: number): Promise<(RevisionInfo & { state: Uint8Array }) | null> {
    return this.inner.getRevision(room, id);
  }

  ping(): Promise<void> {
    if (this.unreachable) return Promise.reject(new Error('injected: store unreachable'));
    return this.inner.ping();
  }

  close(): Promise<void> {
    this.release();
    return this.inner.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
