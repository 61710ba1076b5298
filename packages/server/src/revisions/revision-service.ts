import * as Y from 'yjs';
import type { EventService } from '../events/event-service.js';
import type { Logger } from '../ops/logger.js';
import type { Room } from '../rooms/room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { RevisionInfo, RevisionStore } from '../storage/store.js';

/**
 * Named snapshots of a room's state: on request, before every restore, and automatically for rooms
 * that changed since their last revision (every `intervalMs`, 0 = off).
 */
export class RevisionService {
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: RevisionStore,
    private readonly registry: RoomRegistry,
    private readonly events: EventService,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    if (intervalMs > 0) {
      this.timer = setInterval(() => void this.runAutomatic(), intervalMs);
      this.timer.unref();
    }
  }

  markChanged(room: string): void {
    this.changed.add(room);
  }

  async create(room: Room, label: string, user: string | null): Promise<RevisionInfo> {
    // Flush first so the revision holds at least everything acknowledged so far.
    await room.flush();
    const info = await this.store.createRevision(room.name, { label, user, state: Y.encodeStateAsUpdate(room.doc) });
    this.changed.delete(room.name);
    this.events.emitServerEvent(room.name, 'collab.revision_created', user, info);
    return info;
  }

  /** One pass of automatic revisions (the interval timer's job); overlapping passes share one run. */
  runAutomatic(): Promise<void> {
    this.running ??= (async () => {
      for (const name of [...this.changed]) {
        this.changed.delete(name);
        try {
          await this.registry.use(name, (room) => this.create(room, 'auto', null));
        } catch (err) {
          this.log.warn({ err, room: name }, 'automatic revision failed');
        }
      }
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  forget(room: string): void {
    this.changed.delete(room);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
