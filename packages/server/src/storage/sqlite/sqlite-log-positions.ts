import type { RoomInfo } from '../store.js';
import type { SqliteStatements } from './sqlite-statements.js';

/** A room with appends still in update_log: there, not in the rooms table, is its current position. */
interface LoggedRoom {
  lastSeq: number;
  updatedAt: number;
}

/**
 * Each room's log position while its appends sit in `update_log`, not yet drained into the rooms
 * table. One process owns a database file, so they are kept in memory, and read back from the log
 * table at open and after a failed commit (whose in-memory advances were rolled back).
 */
export class LogPositions {
  private rooms = new Map<string, LoggedRoom>();
  private waiting = 0;

  constructor(private readonly stmts: SqliteStatements) {}

  /** Appends waiting in the log. */
  get appends(): number {
    return this.waiting;
  }

  get size(): number {
    return this.rooms.size;
  }

  has(room: string): boolean {
    return this.rooms.has(room);
  }

  entries(): IterableIterator<[string, LoggedRoom]> {
    return this.rooms.entries();
  }

  /** Rebuilds the positions from the log table. */
  reload(): void {
    this.rooms = new Map();
    this.waiting = 0;
    for (const r of this.stmts.loggedRooms.all()) {
      this.rooms.set(r.room, { lastSeq: r.last_seq, updatedAt: r.updated_at });
      this.waiting += r.appends;
    }
  }

  /** After a drain moved every logged append into the rooms' tables. */
  clear(): void {
    this.rooms.clear();
    this.waiting = 0;
  }

  /** The room's last seq, counting appends still in the log; null when the room does not exist. */
  lastSeqOf(room: string): number | null {
    return this.rooms.get(room)?.lastSeq ?? this.stmts.room.get(room)?.last_seq ?? null;
  }

  /** A rooms-table row brought up to date with the room's logged appends. */
  withLogged(info: RoomInfo): RoomInfo {
    const logged = this.rooms.get(info.name);
    if (!logged) return info;
    return { ...info, lastSeq: logged.lastSeq, updatedAt: Math.max(info.updatedAt, logged.updatedAt) };
  }

  /** Inside a commit: logs one append under the room's next seq (creating the room if new). */
  append(room: string, update: Uint8Array): number {
    const now = Date.now();
    let logged = this.rooms.get(room);
    if (!logged) {
      const lastSeq = this.stmts.room.get(room)?.last_seq;
      if (lastSeq === undefined) this.stmts.createRoom.run(room, now, now);
      logged = { lastSeq: lastSeq ?? 0, updatedAt: now };
      this.rooms.set(room, logged);
    }
    logged.lastSeq++;
    logged.updatedAt = now;
    this.waiting++;
    this.stmts.insertLog.run(room, logged.lastSeq, update, now);
    return logged.lastSeq;
  }

  /** Inside a commit: drops a deleted room's logged appends. */
  delete(room: string): void {
    if (this.rooms.delete(room)) this.waiting -= this.stmts.deleteLogged.run(room).changes;
  }
}
