import type { Role } from '../auth/roles.js';
import type { Collaborator, Store, StoredRoom } from './store.js';

interface MemoryRoom {
  snapshot: Uint8Array | null;
  snapshotSeq: number;
  updates: { seq: number; data: Uint8Array }[];
  lastSeq: number;
}

/** In-process store for tests and `--store memory`. Copies bytes in and out like a real store would. */
export class MemoryStore implements Store {
  private readonly rooms = new Map<string, MemoryRoom>();
  private readonly collaborators = new Map<string, Map<string, Role>>();
  private closed = false;

  async loadRoom(room: string): Promise<StoredRoom | null> {
    this.assertOpen();
    const r = this.rooms.get(room);
    if (!r) return null;
    return {
      snapshot: r.snapshot && r.snapshot.slice(),
      snapshotSeq: r.snapshotSeq,
      updates: r.updates.map((u) => u.data.slice()),
      lastSeq: r.lastSeq,
    };
  }

  async appendUpdate(room: string, update: Uint8Array): Promise<number> {
    this.assertOpen();
    let r = this.rooms.get(room);
    if (!r) {
      r = { snapshot: null, snapshotSeq: 0, updates: [], lastSeq: 0 };
      this.rooms.set(room, r);
    }
    const seq = ++r.lastSeq;
    r.updates.push({ seq, data: update.slice() });
    return seq;
  }

  async compact(room: string, uptoSeq: number, state: Uint8Array): Promise<void> {
    this.assertOpen();
    const r = this.rooms.get(room);
    if (!r || uptoSeq <= r.snapshotSeq || uptoSeq > r.lastSeq) return;
    r.snapshot = state.slice();
    r.snapshotSeq = uptoSeq;
    r.updates = r.updates.filter((u) => u.seq > uptoSeq);
  }

  async deleteRoom(room: string): Promise<void> {
    this.assertOpen();
    this.rooms.delete(room);
    this.collaborators.delete(room);
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

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}
