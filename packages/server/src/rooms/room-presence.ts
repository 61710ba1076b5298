import { encodeAwareness, encodeError } from '@tandem/protocol';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { TandemError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { encodeAwarenessEntries, readAwarenessEntries } from './awareness-entries.js';
import type { Peer } from './peer.js';
import { PresenceBudget } from './presence-budget.js';
import { RoomPresenceFeed } from './presence-feed.js';

/** The origin of changes that came from another instance. */
export const REMOTE = Symbol('remote');

/**
 * What every room's Awareness is built on. y-protocols reads only a document's `clientID` (the
 * server's own presence id; it never publishes a state) and subscribes to its 'destroy'. A `Y.Doc` per
 * room for that was 2 KB of every loaded room; one shared Y.Doc would collect a 'destroy' listener per
 * room ever loaded, never removed. So: one shared stand-in with a client id drawn as Yjs draws them.
 */
const AWARENESS_HOST = { clientID: new Y.Doc().clientID, on: () => undefined } as unknown as Y.Doc;

export interface RoomPresenceOptions {
  /** Largest presence (awareness) state one client may publish, in bytes of JSON. */
  maxPresenceBytes: number;
  /** All presence states of the room together; every joiner receives them in one frame. */
  maxRoomPresenceBytes: number;
}

/** Presence changes gathered since the last flush, encoded once for everyone. */
export interface PresenceChanges {
  /** For this instance's peers (every change). */
  frame: Uint8Array;
  /** For other instances: the changes this instance's peers made, or null if none. */
  local: Uint8Array | null;
}

/**
 * A room's presence: its Awareness, who owns each client id (only the same user may change or remove
 * a state, and a peer's states go when it leaves), the room's presence budget, and the versioned feed
 * the HTTP transport catches up from. Changes are gathered and handed to the room's flush
 * (`takeChanges`), so presence goes out in the same frames-per-turn rhythm as document updates.
 */
export class RoomPresence {
  readonly awareness: awarenessProtocol.Awareness;
  readonly feed: RoomPresenceFeed;
  /** Which peer currently owns each client id; `clientsOf` is the reverse index, kept in step. */
  private readonly owners = new Map<number, Peer>();
  /** Client ids each peer introduced (almost always one); a peer that never publishes has no entry. */
  private readonly clientsOf = new Map<Peer, number[]>();
  /** Peers already told the room's presence is full (told once). */
  private readonly toldFull = new Set<Peer>();
  private readonly budget: PresenceBudget;
  private pending = new Set<number>();
  /** Of those, the ones this instance's peers changed (others came from other instances). */
  private pendingLocal = new Set<number>();

  constructor(
    private readonly options: RoomPresenceOptions,
    /** Told that there are changes to send: the room schedules its flush. */
    private readonly changed: () => void,
    private readonly metrics: Metrics,
  ) {
    this.budget = new PresenceBudget(options.maxRoomPresenceBytes);
    this.awareness = new awarenessProtocol.Awareness(AWARENESS_HOST);
    // The server is not a participant; without this every client would see a phantom user.
    this.awareness.setLocalState(null);
    // Each Awareness runs its own 3 s timer; with no local state to renew, all it does is expire
    // silent states, which the registry does for every room in one sweep (expire).
    clearInterval((this.awareness as unknown as { _checkInterval: ReturnType<typeof setInterval> })._checkInterval);
    this.awareness.on('update', this.onUpdate);
    this.feed = new RoomPresenceFeed(this.awareness);
  }

  /** Every state with the user that published it (for the presence API). */
  list(): { clientId: number; user: string | null; state: unknown }[] {
    return [...this.awareness.getStates()].map(([clientId, state]) => ({
      clientId,
      user: this.owners.get(clientId)?.user ?? null,
      state,
    }));
  }

  /** Every present state in one frame (a new peer's, or a `query-awareness` answer). */
  fullFrame(): Uint8Array {
    return this.feed.present();
  }

  /** Tells a peer that just joined who is here. */
  welcome(peer: Peer): void {
    if (peer.sendPresence) peer.sendPresence(this.feed, null);
    else if (this.awareness.getStates().size > 0) peer.send(this.fullFrame());
  }

  /** Applies a peer's awareness update: its own states only, within the room's budget. */
  apply(peer: Peer, update: Uint8Array): void {
    const entries = readAwarenessEntries(update, this.options.maxPresenceBytes);
    // The same user may take over (a reconnect can race the old socket's close); nobody else may.
    const own = entries.filter(({ clientID }) => {
      const owner = this.owners.get(clientID);
      return owner === undefined || owner === peer || owner.user === peer.user;
    });
    if (own.length === 0) return;
    if (!this.budget.fits(own)) {
      // Dropped, not closed: the peer did nothing wrong by itself, and presence is ephemeral.
      this.metrics.presenceDrops.inc();
      if (!this.toldFull.has(peer) && peer.tandem) {
        peer.send(encodeError('presence_full', 'the room holds all the presence it can; yours is not shown'));
      }
      this.toldFull.add(peer);
      return;
    }
    const apply = own.length === entries.length ? update : encodeAwarenessEntries(own);
    this.budget.applying(own, () => {
      try {
        awarenessProtocol.applyAwarenessUpdate(this.awareness, apply, peer);
      } catch (cause) {
        throw new TandemError('invalid_awareness', 'malformed awareness update', { cause });
      }
    });
    // Stock y-websocket clients echo every state they receive, their own user's other tabs' included:
    // only Tandem clients, which send nothing but their own, can take a state over unchanged.
    if (!peer.tandem) return;
    for (const { clientID, clock, state } of own) {
      const owner = this.owners.get(clientID);
      if (owner === undefined || owner === peer || state === 'null') continue;
      // The same state again (same clock) through a new connection of its client — a reconnect, or a
      // switch from the HTTP fallback back to WebSocket. y-protocols ignores it as not newer, but the
      // client speaks through this peer now: the old connection must not remove it when it closes.
      if (this.awareness.meta.get(clientID)?.clock === clock && this.awareness.states.has(clientID)) {
        this.own(peer, clientID);
      }
    }
  }

  /** Presence of another instance's peers. Their states expire like any (30 s without renewal). */
  applyRemote(update: Uint8Array): void {
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, REMOTE);
  }

  /** Removes what `peer` published (it left, or `reason` says why its presence may not stay). */
  removeStatesOf(peer: Peer, reason: string): void {
    const clients = this.clientsOf.get(peer);
    if (clients?.length) awarenessProtocol.removeAwarenessStates(this.awareness, [...clients], reason);
  }

  /** A peer left: its states go, and it is forgotten. */
  leave(peer: Peer): void {
    this.removeStatesOf(peer, 'disconnect');
    this.clientsOf.delete(peer);
    this.toldFull.delete(peer);
  }

  /**
   * Removes presence states not renewed for y-protocols' 30 s (`outdatedTimeout`), as each Awareness's
   * own timer would: clients renew theirs every 15 s, so only the silent go — such as the clients of
   * another instance that died, whom nobody else will ever remove.
   */
  expire(now = Date.now()): void {
    const stale: number[] = [];
    for (const [clientId, meta] of this.awareness.meta) {
      if (now - meta.lastUpdated >= awarenessProtocol.outdatedTimeout && this.awareness.states.has(clientId)) {
        stale.push(clientId);
      }
    }
    if (stale.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, stale, 'timeout');
  }

  /** The changes since the last call, encoded (null when there are none); the feed advances. */
  takeChanges(): PresenceChanges | null {
    if (this.pending.size === 0) return null;
    const clients = [...this.pending];
    this.pending.clear();
    const frame = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
    this.feed.advance(clients);
    const local =
      this.pendingLocal.size > 0
        ? awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...this.pendingLocal])
        : null;
    this.pendingLocal.clear();
    return { frame, local };
  }

  /** Drops the changes not sent yet (the room failed and its peers are being closed). */
  discardChanges(): void {
    this.pending.clear();
    this.pendingLocal.clear();
  }

  destroy(): void {
    this.awareness.off('update', this.onUpdate);
    this.awareness.destroy();
  }

  /** Makes `peer` the owner of client `id`, taking it from the peer that had it. */
  private own(peer: Peer, id: number): void {
    const previous = this.owners.get(id);
    if (previous && previous !== peer) this.disown(previous, id);
    const clients = this.clientsOf.get(peer);
    if (!clients) this.clientsOf.set(peer, [id]);
    else if (!clients.includes(id)) clients.push(id);
    this.owners.set(id, peer);
  }

  private disown(peer: Peer, id: number): void {
    const clients = this.clientsOf.get(peer);
    const at = clients?.indexOf(id) ?? -1;
    if (at >= 0) clients!.splice(at, 1);
  }

  private readonly onUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    // Peers are the only object origins (REMOTE is a symbol, removals name their reason).
    const peer = typeof origin === 'object' && origin !== null ? (origin as Peer) : null;
    for (const id of [...added, ...updated]) {
      // A takeover (same user, new socket) moves the id: the old socket must not remove it on close.
      if (peer) this.own(peer, id);
      this.pending.add(id);
      if (origin !== REMOTE) this.pendingLocal.add(id);
      this.budget.changed(id);
    }
    for (const id of removed) {
      this.budget.removed(id);
      const previous = this.owners.get(id);
      if (previous) this.disown(previous, id);
      this.owners.delete(id);
      this.pending.add(id);
      if (origin !== REMOTE) this.pendingLocal.add(id);
    }
    this.changed();
  };
}
