import { encodeStatus } from '@tandem/protocol';
import type { Peer } from './peer.js';

/** What the room remembers about one connected peer. */
export interface PeerState {
  /** Whether this peer was already told its writes are dropped (told once, not per update). */
  toldReadOnly: boolean;
  statusSent: boolean;
  /** Count of sync-step2/sync-update messages received: the numbers acks refer to. */
  updatesReceived: number;
}

/**
 * A room's connected peers, each with its state, and how many connections each user has: a user joins
 * the room with their first connection and leaves with their last (`collab.user_joined`/`_left`).
 */
export class RoomPeers {
  private readonly states = new Map<Peer, PeerState>();
  private readonly perUser = new Map<string, number>();

  get size(): number {
    return this.states.size;
  }

  add(peer: Peer): PeerState {
    const state: PeerState = { updatesReceived: 0, toldReadOnly: false, statusSent: false };
    this.states.set(peer, state);
    this.perUser.set(peer.user, (this.perUser.get(peer.user) ?? 0) + 1);
    return state;
  }

  /** Resolves false for a peer that was not here. */
  remove(peer: Peer): boolean {
    if (!this.states.delete(peer)) return false;
    const connections = (this.perUser.get(peer.user) ?? 1) - 1;
    if (connections > 0) this.perUser.set(peer.user, connections);
    else this.perUser.delete(peer.user);
    return true;
  }

  get(peer: Peer): PeerState | undefined {
    return this.states.get(peer);
  }

  has(peer: Peer): boolean {
    return this.states.has(peer);
  }

  connectionsOf(user: string): number {
    return this.perUser.get(user) ?? 0;
  }

  /** Tells a Tandem peer the room's status: its name, the server's time, the peer count, its access. */
  sendStatus(peer: Peer, room: string): void {
    const state = this.states.get(peer);
    if (!peer.tandem || !state) return;
    state.statusSent = true;
    peer.send(encodeStatus({ room, serverTime: Date.now(), peers: this.states.size, readOnly: peer.readOnly }));
  }

  [Symbol.iterator](): IterableIterator<Peer> {
    return this.states.keys();
  }
}
