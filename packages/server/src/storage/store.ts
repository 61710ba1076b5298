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

export interface Collaborator {
  user: string;
  role: Role;
}

/**
 * The durability seam. Implementations: MemoryStore (tests, `--store memory`), SqliteStore.
 * Every implementation passes the conformance suite in test/support/store-conformance.ts.
 */
export interface Store {
  /** Null when nothing was ever stored for the room. */
  loadRoom(room: string): Promise<StoredRoom | null>;
  /**
   * Appends one Yjs update to the room's log. Resolves with the update's per-room seq only after the
   * commit is durable; appends made in the same tick share one commit (group commit).
   */
  appendUpdate(room: string, update: Uint8Array): Promise<number>;
  /**
   * Folds the log into a snapshot: `state` must contain every update with seq <= uptoSeq. Those updates
   * are dropped; later ones stay. A compaction older than the current snapshot is ignored.
   */
  compact(room: string, uptoSeq: number, state: Uint8Array): Promise<void>;
  /** Removes the room's updates, snapshot and collaborators. */
  deleteRoom(room: string): Promise<void>;
  getCollaborator(room: string, user: string): Promise<Role | null>;
  /** Sorted by user id. */
  listCollaborators(room: string): Promise<Collaborator[]>;
  setCollaborator(room: string, user: string, role: Role): Promise<void>;
  /** Resolves true if there was such a collaborator. */
  removeCollaborator(room: string, user: string): Promise<boolean>;
  /** Finishes pending commits and releases resources. */
  close(): Promise<void>;
}
