import { encodeAwareness } from '@tandem/protocol';
import * as awarenessProtocol from 'y-protocols/awareness';

/**
 * A room's presence as numbered versions, for peers that must be able to catch a client up on what
 * it missed (the HTTP fallback: a resumed stream, a poll) without keeping every presence frame they
 * were sent. Presence is latest-wins per client id, so "every client id changed since version v, at
 * its current state" brings a client at v up to date; one shared map per room replaces a copy of every
 * presence frame per session.
 */
export interface PresenceFeed {
  /** Incremented by every flush that changed presence. */
  readonly version: number;
  /**
   * A frame with the current state (or removal) of every client id changed after `version`; from 0,
   * every present state. Null when nothing changed.
   */
  changedSince(version: number): Uint8Array | null;
}

// Removed client ids are remembered (so a catch-up can say they left) while there are fewer of them
// than this plus twice the present ones; older removals are forgotten, and a client that missed one
// drops that state itself after y-protocols' 30 s without renewal.
const REMOVED_KEPT = 256;

export class RoomPresenceFeed implements PresenceFeed {
  version = 0;
  /** Version of each client id's last change, oldest change first (re-inserted on change). */
  private readonly changedAt = new Map<number, number>();

  constructor(private readonly awareness: awarenessProtocol.Awareness) {}

  /** Records a flush's presence changes as one new version. */
  advance(clients: readonly number[]): void {
    this.version++;
    for (const id of clients) {
      this.changedAt.delete(id);
      this.changedAt.set(id, this.version);
    }
    this.forgetOldRemovals();
  }

  changedSince(version: number): Uint8Array | null {
    if (version <= 0) return this.awareness.getStates().size > 0 ? this.present() : null;
    const ids: number[] = [];
    for (const [id, at] of this.changedAt) if (at > version && this.awareness.meta.has(id)) ids.push(id);
    return ids.length > 0 ? encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, ids)) : null;
  }

  /** Every present state in one frame (empty when nobody is here). */
  present(): Uint8Array {
    return encodeAwareness(
      awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]),
    );
  }

  private forgetOldRemovals(): void {
    const states = this.awareness.getStates();
    let excess = this.changedAt.size - (2 * states.size + REMOVED_KEPT);
    if (excess <= 0) return;
    for (const id of this.changedAt.keys()) {
      if (excess <= 0) break;
      if (states.has(id)) continue;
      this.changedAt.delete(id);
      excess--;
    }
  }
}
