import type { Role } from '../../auth/roles.js';
import { patternToRegExp } from '../../auth/room-pattern.js';
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
} from '../store.js';
import { soleLeadership, type Leadership } from '../leadership.js';
import { dumpNeedsRoomInfo, RoomExistsError } from '../store.js';

interface MemoryRoom {
  createdAt: number;
  updatedAt: number;
  snapshot: Uint8Array | null;
  snapshotSeq: number;
  updates: { seq: number; data: Uint8Array }[];
  lastSeq: number;
}

/** In-process store for tests and `--store memory`. Copies bytes in and out like a real store would. */
export class MemoryStore implements Store {
  private readonly rooms = new Map<string, MemoryRoom>();
  private readonly collaborators = new Map<string, Map<string, Role>>();
  private readonly events = new Map<string, { list: StoredEvent[]; keys: Map<string, StoredEvent> }>();
  private readonly revisions = new Map<string, (RevisionInfo & { state: Uint8Array })[]>();
  /** Highest pruned event id per room. */
  private readonly horizons = new Map<string, number>();
  /** Every kept event in append order, for listEventsAfter. */
  private appended: { position: number; room: string; event: StoredEvent }[] = [];
  private lastPosition = 0;
  private readonly cursors = new Map<string, number>();
  private closed = false;
  /** One process owns this store: every deployment-wide job is this instance's. */
  readonly leadership: Leadership = soleLeadership;

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  async loadRoom(room: string): Promise<StoredRoom | null> {
    this.assertOpen();
    const r = this.rooms.get(room);
    // A room made by an event has room info but no document yet.
    if (!r || (r.lastSeq === 0 && r.snapshot === null)) return null;
    return {
      snapshot: r.snapshot && r.snapshot.slice(),
      snapshotSeq: r.snapshotSeq,
      updates: r.updates.map((u) => u.data.slice()),
      lastSeq: r.lastSeq,
    };
  }

  async appendUpdate(room: string, update: Uint8Array): Promise<number> {
    this.assertOpen();
    const r = this.touch(room);
    const seq = ++r.lastSeq;
    r.updates.push({ seq, data: update.slice() });
    return seq;
  }

  async appendInitial(room: string, update: Uint8Array): Promise<number | null> {
    this.assertOpen();
    if ((this.rooms.get(room)?.lastSeq ?? 0) > 0) return null;
    return this.appendUpdate(room, update);
  }

  async compact(room: string, uptoSeq: number, state: Uint8Array): Promise<void> {
    this.assertOpen();
    const r = this.rooms.get(room);
    if (!r || uptoSeq <= r.snapshotSeq || uptoSeq > r.lastSeq) return;
    r.snapshot = state.slice();
    r.snapshotSeq = uptoSeq;
    r.updates = r.updates.filter((u) => u.seq > uptoSeq);
  }

  async loadTail(room: string, afterSeq: number): Promise<{ updates: Uint8Array[]; lastSeq: number } | null> {
    this.assertOpen();
    const r = this.rooms.get(room);
    if (!r || r.snapshotSeq > afterSeq) return null;
    return { updates: r.updates.filter((u) => u.seq > afterSeq).map((u) => u.data.slice()), lastSeq: r.lastSeq };
  }

  async lastSeqs(rooms: readonly string[]): Promise<Map<string, number>> {
    this.assertOpen();
    const seqs = new Map<string, number>();
    for (const name of rooms) {
      const r = this.rooms.get(name);
      if (r) seqs.set(name, r.lastSeq);
    }
    return seqs;
  }

  async deleteRoom(room: string): Promise<void> {
    this.assertOpen();
    this.rooms.delete(room);
    this.collaborators.delete(room);
    this.events.delete(room);
    this.appended = this.appended.filter((e) => e.room !== room);
    this.horizons.delete(room);
    this.revisions.delete(room);
  }

  async listRoomNames({ after, limit }: { after?: string; limit: number }): Promise<string[]> {
    this.assertOpen();
    const names = new Set([...this.rooms.keys(), ...this.collaborators.keys(), ...this.revisions.keys()]);
    return [...names]
      .filter((n) => (after === undefined || n > after) && this.holdsAnything(n))
      .sort()
      .slice(0, limit);
  }

  async importRoom(dump: RoomDump): Promise<void> {
    this.assertOpen();
    const { name } = dump;
    if (this.holdsAnything(name)) throw new RoomExistsError(name);
    if (dumpNeedsRoomInfo(dump)) {
      const createdAt = dump.createdAt ?? Date.now();
      this.rooms.set(name, {
        createdAt,
        updatedAt: dump.updatedAt ?? createdAt,
        snapshot: dump.state && dump.lastSeq > 0 ? dump.state.slice() : null,
        snapshotSeq: dump.state && dump.lastSeq > 0 ? dump.lastSeq : 0,
        updates: [],
        lastSeq: dump.lastSeq,
      });
    }
    if (dump.collaborators.length > 0) {
      this.collaborators.set(name, new Map(dump.collaborators.map((c) => [c.user, c.role])));
    }
    // History, not news: imported events get no position, so webhooks do not deliver them again.
    if (dump.events.length > 0) this.events.set(name, { list: structuredClone(dump.events), keys: new Map() });
    if (dump.eventHorizon > 0) this.horizons.set(name, dump.eventHorizon);
    if (dump.revisions.length > 0) {
      this.revisions.set(
        name,
        dump.revisions.map((r) => ({ ...r, size: r.state.length, state: r.state.slice() })),
      );
    }
  }

  async getRoomInfo(room: string): Promise<RoomInfo | null> {
    this.assertOpen();
    const r = this.rooms.get(room);
    return r ? { name: room, createdAt: r.createdAt, updatedAt: r.updatedAt, lastSeq: r.lastSeq } : null;
  }

  async listRooms({ after, limit, visibleTo }: ListRoomsOptions): Promise<RoomInfo[]> {
    this.assertOpen();
    const visible = (name: string): boolean =>
      visibleTo === undefined ||
      visibleTo.patterns.some((p) => patternToRegExp(p).test(name)) ||
      this.collaborators.get(name)?.has(visibleTo.collaborator) === true;
    const names = [...this.rooms.keys()].filter((n) => (after === undefined || n > after) && visible(n)).sort();
    const infos = await Promise.all(names.slice(0, limit).map((n) => this.getRoomInfo(n)));
    return infos.filter((i): i is RoomInfo => i !== null);
  }

  async appendEvent(room: string, event: NewEvent): Promise<{ event: StoredEvent; duplicate: boolean }> {
    this.assertOpen();
    let log = this.events.get(room);
    if (!log) this.events.set(room, (log = { list: [], keys: new Map() }));
    const existing = event.idempotencyKey !== undefined ? log.keys.get(event.idempotencyKey) : undefined;
    if (existing) return { event: structuredClone(existing), duplicate: true };
    const stored: StoredEvent = {
      id: Math.max(log.list.at(-1)?.id ?? 0, this.horizons.get(room) ?? 0) + 1,
      type: event.type,
      ts: Date.now(),
      user: event.user,
      data: structuredClone(event.data),
    };
    log.list.push(stored);
    this.appended.push({ position: ++this.lastPosition, room, event: stored });
    this.touch(room);
    if (event.idempotencyKey !== undefined) log.keys.set(event.idempotencyKey, stored);
    return { event: structuredClone(stored), duplicate: false };
  }

  async listEvents(room: string, { since, limit }: { since: number; limit: number }): Promise<StoredEvent[]> {
    this.assertOpen();
    const list = this.events.get(room)?.list ?? [];
    return structuredClone(list.filter((e) => e.id > since).slice(0, limit));
  }

  async pruneEvents(room: string, keepLast: number): Promise<number> {
    this.assertOpen();
    const log = this.events.get(room);
    if (!log || log.list.length <= keepLast) return 0;
    const gone = log.list.splice(0, log.list.length - keepLast);
    const horizon = gone.at(-1)!.id;
    this.appended = this.appended.filter((e) => e.room !== room || e.event.id > horizon);
    for (const [key, e] of log.keys) if (e.id <= horizon) log.keys.delete(key);
    this.horizons.set(room, Math.max(this.horizons.get(room) ?? 0, horizon));
    return gone.length;
  }

  async eventHorizon(room: string): Promise<number> {
    this.assertOpen();
    return this.horizons.get(room) ?? 0;
  }

  async listEventsAfter(position: number, limit: number): Promise<LoggedEvent[]> {
    this.assertOpen();
    return structuredClone(this.appended.filter((e) => e.position > position).slice(0, limit));
  }

  async lastEventPosition(): Promise<number> {
    this.assertOpen();
    return this.lastPosition;
  }

  async getCursor(name: string): Promise<number | null> {
    this.assertOpen();
    return this.cursors.get(name) ?? null;
  }

  async setCursor(name: string, position: number): Promise<void> {
    this.assertOpen();
    this.cursors.set(name, position);
  }

  async createRevision(
    room: string,
    revision: { label: string; user: string | null; state: Uint8Array },
  ): Promise<RevisionInfo> {
    this.assertOpen();
    let list = this.revisions.get(room);
    if (!list) this.revisions.set(room, (list = []));
    const stored = {
      id: (list.at(-1)?.id ?? 0) + 1,
      label: revision.label,
      ts: Date.now(),
      user: revision.user,
      size: revision.state.length,
      state: revision.state.slice(),
    };
    list.push(stored);
    const { state: _state, ...info } = stored;
    return info;
  }

  async listRevisions(room: string, { limit }: { limit: number }): Promise<RevisionInfo[]> {
    this.assertOpen();
    return (this.revisions.get(room) ?? [])
      .slice()
      .reverse()
      .slice(0, limit)
      .map(({ state: _state, ...info }) => info);
  }

  async getRevision(room: string, id: number): Promise<(RevisionInfo & { state: Uint8Array }) | null> {
    this.assertOpen();
    const r = this.revisions.get(room)?.find((x) => x.id === id);
    return r ? { ...r, state: r.state.slice() } : null;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async getCollaborator(room: string, user: string): Promise<Role | null> {
    this.assertOpen();
    return this.collaborators.get(room)?.get(user) ?? null;
  }

  async listCollaborators(room: string): Promise<Collaborator[]> {
    this.assertOpen();
    const map = this.collaborators.get(room);
    if (!map) return [];
    return [...map]
      .map(([user, role]) => ({ user, role }))
      .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }

  async setCollaborator(room: string, user: string, role: Role): Promise<void> {
    this.assertOpen();
    let map = this.collaborators.get(room);
    if (!map) this.collaborators.set(room, (map = new Map()));
    map.set(user, role);
  }

  async removeCollaborator(room: string, user: string): Promise<boolean> {
    this.assertOpen();
    return this.collaborators.get(room)?.delete(user) ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private touch(room: string): MemoryRoom {
    let r = this.rooms.get(room);
    if (!r) {
      r = { createdAt: Date.now(), updatedAt: Date.now(), snapshot: null, snapshotSeq: 0, updates: [], lastSeq: 0 };
      this.rooms.set(room, r);
    }
    r.updatedAt = Date.now();
    return r;
  }

  private holdsAnything(room: string): boolean {
    return (
      this.rooms.has(room) ||
      (this.collaborators.get(room)?.size ?? 0) > 0 ||
      (this.revisions.get(room)?.length ?? 0) > 0
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}
