import type { Bus, BusMessage } from '../bus/bus.js';
import type { RoomAccess } from '../auth/room-access.js';
import type { EventService } from '../events/event-service.js';
import type { Logger } from '../ops/logger.js';
import type { DocumentLog, StoredRoom } from '../storage/store.js';
import type { Room } from './room.js';
import type { RoomRegistry } from './room-registry.js';

export interface ClusterSyncOptions {
  /** How often each loaded room's last seq is compared with the store (a lost last message shows no gap). */
  checkIntervalMs: number;
}

/** How far a loaded room has the store's log: every seq up to `upto`, and some beyond it. */
interface Position {
  room: Room;
  upto: number;
  beyond: Set<number>;
  catchingUp: Promise<void> | null;
  /** A catch-up is due when the gap is still open after the grace (one timer per room, not per message). */
  gapTimer: NodeJS.Timeout | null;
}

// A gap usually closes by itself (the message is still on its way); read the store only if it has not.
const GAP_GRACE_MS = 100;
// While the bus is down, rooms are compared with the store this often: polling instead of messages.
const DISCONNECTED_POLL_MS = 1_000;

/**
 * Keeps the rooms this instance has loaded in step with the other instances on the same store. Each
 * commit here is published as `{room, seq, update}`; each one received applies if it is new. A gap in
 * the seqs (a lost message), a bus reconnect and a periodic check against the store's last seq (the
 * only way to find a lost *last* message) all trigger a catch-up read from the store, which is the
 * one copy: the updates after the room's position, or the whole room when a compaction folded some. While the bus is down the periodic check keeps rooms converging by polling.
 */
export class ClusterSync {
  private readonly positions = new Map<string, Position>();
  private readonly timer: NodeJS.Timeout;
  private readonly stops: (() => void)[] = [];
  private lastCheckAt = Date.now();

  constructor(
    private readonly registry: RoomRegistry,
    private readonly store: DocumentLog,
    private readonly bus: Bus,
    private readonly events: EventService,
    private readonly access: RoomAccess,
    private readonly log: Logger,
    options: ClusterSyncOptions,
  ) {
    this.stops.push(
      registry.loaded.subscribe((room, lastSeq) => {
        this.positions.set(room.name, { room, upto: lastSeq, beyond: new Set(), catchingUp: null, gapTimer: null });
      }),
      registry.localPresence.subscribe((room, update) => bus.publish({ kind: 'awareness', room, update })),
      events.storedHere.subscribe((event) => bus.publish({ kind: 'event', room: event.room, event })),
      registry.committedDelete.subscribe((room) => bus.publish({ kind: 'deleted', room })),
    );
    this.stops.push(
      access.onChange((room, user, _role, remote) => {
        if (!remote) bus.publish({ kind: 'access', room, user });
      }),
    );
    this.stops.push(bus.subscribe((message) => this.receive(message)));
    this.stops.push(bus.onReconnect(() => this.checkAll()));
    this.timer = setInterval(
      () => {
        if (!bus.connected || Date.now() - this.lastCheckAt >= options.checkIntervalMs) this.checkAll();
      },
      Math.min(options.checkIntervalMs, DISCONNECTED_POLL_MS),
    );
    this.timer.unref();
  }

  /** A commit of this instance: tell the others, and count it as had. */
  stored(room: string, seq: number, update: Uint8Array): void {
    const position = this.position(room);
    if (position) this.had(position, seq);
    this.bus.publish({ kind: 'update', room, seq, update });
    // A commit past a gap: another instance committed the seqs in between, and their messages have
    // not come. On a healthy bus they arrive within the grace; on a frozen one only the store has them.
    if (position && position.beyond.size > 0) this.catchUpIfGapStays(position);
  }

  /**
   * The highest seq up to which a loaded room has applied every stored update, own and others'; 0 when
   * it is not tracked (nothing may be folded on its behalf then).
   */
  appliedThrough(name: string): number {
    return this.position(name)?.upto ?? 0;
  }

  close(): void {
    clearInterval(this.timer);
    for (const stop of this.stops) stop();
  }

  private position(name: string): Position | null {
    const position = this.positions.get(name);
    if (!position) return null;
    // An unloaded (or reloaded) room starts over from its next load.
    if (this.registry.get(name) !== position.room || position.room.isDestroyed) {
      this.positions.delete(name);
      return null;
    }
    return position;
  }

  private had(position: Position, seq: number): void {
    if (seq <= position.upto) return;
    position.beyond.add(seq);
    while (position.beyond.delete(position.upto + 1)) position.upto++;
  }

  private receive(message: BusMessage): void {
    if (message.kind === 'event') {
      this.events.deliverRemote(message.event);
      return;
    }
    if (message.kind === 'deleted') {
      this.registry.dropDeleted(message.room);
      return;
    }
    if (message.kind === 'access') {
      this.access.notifyRemote(message.room, message.user);
      return;
    }
    const position = this.position(message.room);
    if (!position) return;
    if (message.kind === 'awareness') {
      position.room.applyRemoteAwareness(message.update);
      return;
    }
    if (message.seq <= position.upto || position.beyond.has(message.seq)) return;
    position.room.applyRemote(message.update);
    this.had(position, message.seq);
    if (position.beyond.size > 0) this.catchUpIfGapStays(position);
  }

  private catchUpIfGapStays(position: Position): void {
    if (position.gapTimer) return;
    position.gapTimer = setTimeout(() => {
      position.gapTimer = null;
      if (position.beyond.size > 0) void this.catchUp(position);
    }, GAP_GRACE_MS);
    position.gapTimer.unref();
  }

  private checkAll(): void {
    this.lastCheckAt = Date.now();
    const names = [...this.positions.keys()].filter((name) => this.position(name) !== null);
    if (names.length === 0) return;
    // One query for every loaded room, not one each: the check runs every few seconds.
    this.store.lastSeqs(names).then(
      (seqs) => {
        for (const [name, lastSeq] of seqs) {
          const position = this.position(name);
          if (position && lastSeq > position.upto) void this.catchUp(position);
        }
      },
      (err: unknown) => this.log.warn({ err }, 'cluster check failed'),
    );
  }

  /**
   * Reads what the store has after the room's position and applies it — the whole room only when a
   * compaction folded part of that range away (Yjs updates are idempotent: what we had costs nothing).
   */
  private catchUp(position: Position): Promise<void> {
    position.catchingUp ??= (async () => {
      try {
        const name = position.room.name;
        const stored = (await this.store.loadTail(name, position.upto)) ?? whole(await this.store.loadRoom(name));
        if (!stored) return;
        for (const update of stored.updates) position.room.applyRemote(update);
        if (stored.lastSeq > position.upto) position.upto = stored.lastSeq;
        for (const seq of position.beyond) if (seq <= position.upto) position.beyond.delete(seq);
        while (position.beyond.delete(position.upto + 1)) position.upto++;
      } catch (err) {
        this.log.warn({ err, room: position.room.name }, 'catch-up from the store failed; the next check retries');
      } finally {
        position.catchingUp = null;
      }
    })();
    return position.catchingUp;
  }
}

/** A loaded room as one list of updates: its snapshot first. */
function whole(stored: StoredRoom | null): { updates: Uint8Array[]; lastSeq: number } | null {
  if (!stored) return null;
  return { updates: stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates, lastSeq: stored.lastSeq };
}
