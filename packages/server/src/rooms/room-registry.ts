import { TandemError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { Signal } from '../signal.js';
import type { Metrics } from '../ops/metrics.js';
import type { DocumentLog } from '../storage/store.js';
import type { Peer } from './peer.js';
import { CompactionScheduler } from './compaction-scheduler.js';
import { DocumentState } from './document-state.js';
import { FlushLoad } from './flush-load.js';
import { Room, type RoomOptions } from './room.js';
import { RoomPersistence, type RoomPersistenceOptions, type SnapshotSource } from './room-persistence.js';
import { checkUpdate } from '../yjs/update-check.js';

/**
 * How often silent presence is looked for (y-protocols' own Awareness timer period, a tenth of 30 s),
 * and idle documents released and quiet rooms' state folded.
 */
const PRESENCE_SWEEP_MS = 3_000;

export interface RoomRegistryOptions extends Omit<RoomOptions, 'load'> {
  /** Deliveries a second from which busy rooms batch (FlushLoad; 0 = always). */
  batchAboveDeliveries: number;
  unloadDelayMs: number;
  maxRooms: number;
  maxConnectionsPerRoom: number;
  compactAfterUpdates: number;
  /**
   * Rooms one client address may cause to be loaded (its joins of rooms nobody else had loaded), so one
   * address cannot fill maxRooms for everyone (0 = unlimited).
   */
  maxRoomsPerAddress: number;
  /** How long an unloading room waits for failing writes before it gives them up. */
  unloadSaveTimeoutMs?: number;
  /**
   * Initial content of a room that was never stored (the extensions' onLoadDocument), stored before the
   * room is served. A throw fails the load: peers are refused and nothing is stored.
   */
  loadInitial?: (room: string) => Promise<Uint8Array | null>;
  /**
   * With other instances on the store: the highest seq up to which a loaded room's state holds every
   * stored update (theirs arrive over the bus, maybe late), which bounds what a compaction may fold.
   * Absent, or null for a room: this process is the store's only writer, and a room's own last commit
   * is that point.
   */
  appliedThrough?: (room: string) => number | null;
}

interface Entry {
  /** Settles once the room is loaded; rejects if the load failed. */
  ready: Promise<Room>;
  room: Room | null;
  unloadTimer: NodeJS.Timeout | null;
  unloading: boolean;
  /** The client address whose join loaded the room, counted against its quota until the room goes. */
  loadedBy: string | null;
}

/**
 * Owns the loaded rooms of this process: loads a room on its first join, unloads it some time after
 * its last peer left and its writes are durable, and drains everything on shutdown.
 *
 * Invariants: a room answers no peer before its load finished; a failed load is never turned into an
 * empty document (it refuses peers and is retried by the next join); a room is removed from the map
 * only in the same synchronous step that checks it has no peers, so a joiner can never land in a
 * room that is being thrown away.
 */
export class RoomRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly loadsByAddress = new Map<string, number>();
  /** After any loaded room's document changed. */
  readonly docChanged = new Signal<[room: string]>();
  /** After a commit of a room's updates. */
  readonly stored = new Signal<[room: string, seq: number, update: Uint8Array]>();
  /** The presence changes of this instance's peers, encoded. */
  readonly localPresence = new Signal<[room: string, update: Uint8Array]>();
  /** After a room was dropped as deleted. */
  readonly deleted = new Signal<[room: string]>();
  /** Once a delete made here is committed to the store (other instances are told then). */
  readonly committedDelete = new Signal<[room: string]>();
  /** A room finished loading, with the last seq it was loaded at. */
  readonly loaded = new Signal<[room: Room, lastSeq: number]>();
  private readonly log: Logger;
  /** One timer for every loaded room's presence expiry, running while any room is loaded. */
  private presenceSweep: ReturnType<typeof setInterval> | null = null;
  /** One options object each for every room and its persistence (they are the same for all). */
  private readonly roomOptions: RoomOptions;
  private readonly persistenceOptions: RoomPersistenceOptions;
  /** Whether this process's rooms batch; sampled while any room is loaded. */
  readonly flushLoad: FlushLoad;

  constructor(
    private readonly store: DocumentLog,
    logger: Logger,
    private readonly options: RoomRegistryOptions,
    private readonly metrics: Metrics,
  ) {
    this.log = logger.child({ module: 'rooms' });
    this.flushLoad = new FlushLoad({
      batchAbove: options.batchAboveDeliveries,
      onSample: (load) => metrics.flushWindowScale.set(load.windowScale),
    });
    this.roomOptions = {
      ...options,
      load: this.flushLoad,
      onChanged: (room: string) => this.docChanged.emit(room),
      onAwareness: (room: string, update: Uint8Array) => this.localPresence.emit(room, update),
      onFailed: (room: Room) => this.dropFailed(room),
    };
    this.persistenceOptions = {
      compactAfterUpdates: options.compactAfterUpdates,
      compactions: new CompactionScheduler(),
      onStored: (room, seq, update) => this.stored.emit(room, seq, update),
      appliedThrough: (room) => this.options.appliedThrough?.(room) ?? null,
    };
  }

  /** Rooms loaded or loading right now. */
  get size(): number {
    return this.entries.size;
  }

  get(name: string): Room | undefined {
    return this.entries.get(name)?.room ?? undefined;
  }

  private startPresenceSweep(): void {
    if (this.presenceSweep) return;
    this.flushLoad.start();
    this.presenceSweep = setInterval(() => {
      const now = Date.now();
      for (const entry of this.entries.values()) {
        entry.room?.expirePresence(now);
        entry.room?.releaseIdleDoc();
        entry.room?.foldIfQuiet();
      }
    }, PRESENCE_SWEEP_MS);
    this.presenceSweep.unref();
  }

  loadedRooms(): Room[] {
    return [...this.entries.values()].flatMap((e) => (e.room ? [e.room] : []));
  }

  /**
   * Adds the peer to the room, loading the room first if needed (counted against `address`'s quota).
   * Throws room_load_failed.
   */
  join(name: string, peer: Peer, address: string | null = null): Promise<Room> {
    return this.attach(name, address, (room) => {
      if (room.peerCount >= this.options.maxConnectionsPerRoom) {
        throw new TandemError('room_full', `room has its maximum of ${this.options.maxConnectionsPerRoom} connections`);
      }
      room.addPeer(peer);
      return room;
    });
  }

  /** Removes the peer; the room unloads after unloadDelayMs if nobody else is there. */
  leave(room: Room, peer: Peer): void {
    room.removePeer(peer);
    this.scheduleUnloadIfIdle(room);
  }

  /**
   * Runs `fn` with the room loaded (loading it if needed) and kept loaded until `fn` settles. For
   * server-side readers and writers (REST) that are not peers.
   */
  async use<T>(name: string, fn: (room: Room) => Promise<T> | T): Promise<T> {
    const room = await this.attach(name, null, (r) => {
      r.hold();
      return r;
    });
    try {
      return await fn(room);
    } finally {
      room.release();
      this.scheduleUnloadIfIdle(room);
    }
  }

  /**
   * Loads the room if needed and runs `claim` on a live one in the same synchronous step that cancels
   * its unload: either the room was destroyed before we resumed (then load a fresh one) or its unload has
   * not removed it yet, and what `claim` adds (a peer, a hold) stops that unload.
   */
  private async attach<T>(name: string, address: string | null, claim: (room: Room) => T): Promise<T> {
    for (;;) {
      const entry = this.entryFor(name, address);
      const room = await entry.ready;
      if (room.isDestroyed || room.hasFailed) continue;
      if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
      entry.unloadTimer = null;
      return claim(room);
    }
  }

  /**
   * Drops a room from memory without saving (it is being deleted). Tell its peers to go first; those
   * still closing leave the destroyed room harmlessly.
   */
  /** The room was deleted (here or on another instance): its peers are closed and it is dropped. */
  dropDeleted(name: string): void {
    for (const peer of this.get(name)?.peerList() ?? [])
      peer.fail(new TandemError('room_deleted', 'this room was deleted'));
    this.evict(name);
    this.deleted.emit(name);
  }

  deleteCommitted(name: string): void {
    this.committedDelete.emit(name);
  }

  evict(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
    this.removeEntry(name, entry);
    entry.room?.persistence.abandon();
    entry.room?.destroy();
  }

  /**
   * A room whose flush failed leaves the map at once (the next join loads it fresh from the store) and
   * is destroyed once the writes it already handed to persistence have settled.
   */
  private dropFailed(room: Room): void {
    const entry = this.entries.get(room.name);
    if (entry?.room === room) {
      if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
      this.removeEntry(room.name, entry);
    }
    void room.persistence.idle().then(() => room.destroy());
  }

  private scheduleUnloadIfIdle(room: Room): void {
    const entry = this.entries.get(room.name);
    if (!entry || entry.room !== room || !room.isIdle || entry.unloadTimer || entry.unloading) return;
    entry.unloadTimer = setTimeout(() => {
      entry.unloadTimer = null;
      void this.unload(room.name, entry);
    }, this.options.unloadDelayMs);
  }

  /** Flushes every room and waits for its writes; used on drain. Resolves false on timeout. */
  async flushAll(timeoutMs: number): Promise<boolean> {
    const writes = this.loadedRooms().map((room) => room.flush().catch(() => undefined));
    return withTimeout(
      Promise.all(writes).then(() => true),
      timeoutMs,
      false,
    );
  }

  /** Destroys every room (after flushAll). Later joins load fresh rooms. */
  closeAll(): void {
    for (const [name, entry] of this.entries) {
      if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
      entry.room?.persistence.abandon();
      entry.room?.destroy();
      this.removeEntry(name, entry);
    }
  }

  private entryFor(name: string, address: string | null): Entry {
    const existing = this.entries.get(name);
    if (existing) return existing;
    if (this.entries.size >= this.options.maxRooms) {
      throw new TandemError('too_many_rooms', 'this server has its maximum number of rooms loaded; try again later');
    }
    const quota = this.options.maxRoomsPerAddress;
    if (address !== null && quota > 0 && (this.loadsByAddress.get(address) ?? 0) >= quota) {
      throw new TandemError('too_many_rooms_per_address', `your address has ${quota} rooms open; close some first`);
    }
    const ready = this.load(name).then(
      (room) => {
        entry.room = room;
        this.startPresenceSweep();
        this.loaded.emit(room, room.persistence.committedSeq);
        return room;
      },
      (cause: unknown) => {
        // Forget the failed entry so the next join retries the load instead of reusing the failure.
        this.removeEntry(name, entry);
        this.log.error({ err: cause, room: name }, 'room failed to load');
        throw new TandemError('room_load_failed', 'the room could not be loaded; try again later', { cause });
      },
    );
    const entry: Entry = { ready, room: null, unloadTimer: null, unloading: false, loadedBy: address };
    this.entries.set(name, entry);
    if (address !== null) this.loadsByAddress.set(address, (this.loadsByAddress.get(address) ?? 0) + 1);
    return entry;
  }

  /** Forgets the entry if it is still the room's, and gives its load back to the address's quota. */
  private removeEntry(name: string, entry: Entry): void {
    if (this.entries.get(name) !== entry) return;
    this.entries.delete(name);
    if (this.entries.size === 0 && this.presenceSweep) {
      clearInterval(this.presenceSweep);
      this.presenceSweep = null;
      this.flushLoad.stop();
    }
    const address = entry.loadedBy;
    if (address === null) return;
    const left = (this.loadsByAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.loadsByAddress.delete(address);
    else this.loadsByAddress.set(address, left);
  }

  private async load(name: string): Promise<Room> {
    let stored = await this.store.loadRoom(name);
    if (stored === null && this.options.loadInitial) {
      const initial = await this.options.loadInitial(name);
      // Stored before anyone is served, so it is applied once: a restart finds it in the store, and of
      // two loaders racing (another instance on the same store) only the first one's content is kept.
      if (initial) {
        await this.store.appendInitial(name, initial);
        stored = await this.store.loadRoom(name);
      }
    }
    // Merged, not integrated: the room works on binary state until something needs a document.
    const parts = stored ? stored.updates.filter((update) => this.loadable(name, update)) : [];
    if (stored?.snapshot) parts.unshift(stored.snapshot);
    const state = new DocumentState(parts);
    const tailBytes = stored?.updates.reduce((n, u) => n + u.length, 0) ?? 0;
    const persistenceFor = (room: SnapshotSource): RoomPersistence =>
      new RoomPersistence(
        name,
        room,
        this.store,
        this.log,
        this.persistenceOptions,
        {
          lastSeq: stored?.lastSeq ?? 0,
          tailLength: stored?.updates.length ?? 0,
          tailBytes,
          snapshotBytes: stored?.snapshot?.length ?? 0,
        },
        this.metrics,
      );
    this.log.debug({ room: name, tail: stored?.updates.length ?? 0 }, 'room loaded');
    const bytes = (stored?.snapshot?.length ?? 0) + tailBytes;
    return new Room(
      name,
      state,
      persistenceFor,
      this.log,
      this.roomOptions,
      { bytes, existed: stored !== null },
      this.metrics,
    );
  }

  /**
   * Whether a stored update passes today's checks. A store written before them can hold an update that
   * would make the room unreadable (a value nested past what any encoder survives); it is left out of
   * the document, with a warning, and the next compaction drops it. Only the log tail is checked: a
   * snapshot was encoded from a live document, so it cannot hold one.
   */
  private loadable(room: string, update: Uint8Array): boolean {
    try {
      checkUpdate(update);
      return true;
    } catch (err) {
      this.log.warn({ room, err: (err as Error).message, bytes: update.length }, 'stored update skipped at load');
      return false;
    }
  }

  private async unload(name: string, entry: Entry): Promise<void> {
    const room = entry.room;
    if (!room || !room.isIdle) return;
    entry.unloading = true;
    try {
      // Loop: a peer may join, edit and leave while we wait, leaving new unsaved writes behind.
      let saved = true;
      do {
        saved = await withTimeout(
          room
            .flush()
            .then(() => room.persistence.compactIfTail())
            .then(
              () => true,
              // Rejected: writes abandoned, or the room was reset. Either way nothing more is saved here,
              // and this runs from a timer: it must not throw.
              () => false,
            ),
          this.options.unloadSaveTimeoutMs ?? 30_000,
          false,
        );
        if (!room.isIdle) return; // someone joined while we were saving: keep serving them
      } while (saved && (room.hasUnflushedChanges || room.persistence.pendingWrites > 0));
      if (!saved) {
        // Never pin a room forever on a failing store. What is lost here was never acked, so the
        // clients that sent it still hold it and resend it when they next connect.
        this.log.error({ room: name, pendingWrites: room.persistence.pendingWrites }, 'giving up unsaved writes');
        room.persistence.abandon();
      }
      this.removeEntry(name, entry);
      room.destroy();
      this.log.debug({ room: name }, 'room unloaded');
    } finally {
      entry.unloading = false;
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(onTimeout), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
