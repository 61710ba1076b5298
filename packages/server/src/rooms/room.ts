import {
  encodeAck,
  encodeError,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type Message,
} from '@tandem/protocol';
import * as Y from 'yjs';
import { TandemError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { DocumentState } from './document-state.js';
import { BinaryDocument, type LiveDocument } from './room-document.js';
import type { FlushLoad } from './flush-load.js';
import type { Peer } from './peer.js';
import { RoomPeers, type PeerState } from './room-peers.js';
import { REMOTE, RoomPresence } from './room-presence.js';
import type { RoomPersistence, SnapshotSource } from './room-persistence.js';
import { checkUpdate } from '../yjs/update-check.js';
import { UpdateBatch } from './update-batch.js';

/** How long a materialised document stays after its last use before the room goes back to binary. */
export const DOC_IDLE_MS = 30_000;

/** How long a room has not flushed before its binary state's small updates are folded together. */
const QUIET_FOLD_MS = 2_000;

export interface RoomOptions {
  /** Whether read-only peers may publish awareness (presence). */
  viewerPresence: boolean;
  /** Updates that would take the room's stored state past this are refused. */
  maxDocumentBytes: number;
  /**
   * The longest a busy room of FULL_WINDOW_PEERS or more peers waits between flushes under full load;
   * smaller rooms wait proportionally less (0: flush at the end of every event-loop turn). See
   * FlushLoad.windowFor.
   */
  flushWindowMs: number;
  /** The process's load, shared by all rooms: whether windows are open at all (and how far). */
  load: FlushLoad;
  /** Largest presence (awareness) state one client may publish, in bytes of JSON. */
  maxPresenceBytes: number;
  /** All presence states of the room together; every joiner receives them in one frame. */
  maxRoomPresenceBytes: number;
  /** Told after each batch that changed the document (for `collab.room_updated`). */
  onChanged?: (room: string) => void;
  /** Told the presence changes of this instance's peers, encoded (for other instances). */
  onAwareness?: (room: string, update: Uint8Array) => void;
  /**
   * Told when a flush threw: the room's in-memory state can no longer be trusted. Its peers have been
   * closed (they resync on reconnect); the owner drops the room once its queued writes settle.
   */
  onFailed?: (room: Room) => void;
}

/**
 * One loaded document: its state + Awareness + connected peers. Incoming updates are checked (access,
 * size, content limits) when they arrive and taken in batches: everything that arrives before the next
 * flush (the end of the event-loop turn, or up to `flushWindowMs` later in a busy room of a loaded
 * process — see scheduleFlush) is taken together, and what was new is encoded into a single frame that every peer
 * receives and handed to persistence as one write. Acks go out only once that write is durable;
 * broadcast never waits for it.
 *
 * The state is binary (a DocumentState: merged updates and a state vector) on the hot path, and a
 * Y.Doc only while something needs a document — REST views and edits, revisions, extension readers.
 * `doc` materialises it; releaseIdleDoc turns it back into binary once unused for DOC_IDLE_MS. See
 * docs/decisions/0001-update-path-without-ydoc.md.
 */
export class Room {
  /** Awareness, who owns each state, the presence budget and the feed the HTTP transport reads. */
  private readonly presence: RoomPresence;
  /** Binary on the hot path; a live Y.Doc while something uses a document (see `doc`). */
  private document: BinaryDocument | LiveDocument;
  private docUsedAt = 0;
  private readonly peers = new RoomPeers();
  /** Client updates received since the last flush, and what of them was new: taken at the flush. */
  private readonly incoming = new UpdateBatch((bytes) => {
    this.approxBytes += bytes;
  });
  private failed = false;
  private pendingAcks = new Map<Peer, number>();
  /** When the first update of the batch waiting for acks arrived. */
  private ackBatchStartedAt = 0;
  private flushScheduled = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private destroyed = false;
  /**
   * Upper bound of the room's encoded size: what was loaded plus every update since, reset to the
   * real size at each compaction. Checked before applying, because an applied Yjs update cannot be
   * taken back.
   */
  private approxBytes: number;
  /** True until someone has joined a room that did not exist in the store. */
  private unclaimed: boolean;

  /** Writes the room's updates to the store, in order, and compacts its log. */
  readonly persistence: RoomPersistence;

  constructor(
    readonly name: string,
    state: DocumentState,
    /** The room's persistence, made for it (it asks the room for snapshots). */
    persistenceFor: (room: SnapshotSource) => RoomPersistence,
    private readonly log: Logger,
    private readonly options: RoomOptions,
    loaded: { bytes: number; existed: boolean },
    private readonly metrics: Metrics,
  ) {
    this.document = new BinaryDocument(state);
    this.approxBytes = loaded.bytes;
    this.unclaimed = !loaded.existed;
    this.persistence = persistenceFor({
      snapshot: () => this.snapshotState(),
      compacted: (bytes) => {
        this.approxBytes = bytes;
      },
    });
    this.presence = new RoomPresence(options, () => this.scheduleFlush(), metrics);
  }

  /**
   * The room's document, materialised from the binary state on first use and kept while it is used.
   * Changes made to it (REST writes, restores) reach peers and the store like any update.
   */
  get doc(): Y.Doc {
    this.docUsedAt = performance.now();
    if (this.document.kind === 'binary') this.document = this.document.materialise(this.onDocUpdate);
    return this.document.doc;
  }

  /** Whether the room holds a materialised document right now (for metrics and tests). */
  get hasLiveDoc(): boolean {
    return this.document.kind === 'live';
  }

  /** Accepted updates the binary state holds unfolded (0 with a live document). */
  get unfoldedUpdates(): number {
    return this.document.kind === 'binary' ? this.document.state.unfoldedCount : 0;
  }

  /**
   * Goes back to the binary state once the document was unused for DOC_IDLE_MS and nothing waits to
   * be applied (the registry's sweep calls it for every room).
   */
  releaseIdleDoc(now = performance.now()): void {
    const current = this.document;
    if (current.kind !== 'live' || this.holds > 0 || this.flushScheduled || this.incoming.hasReceived) return;
    if (now - this.docUsedAt < DOC_IDLE_MS || this.failed) return;
    this.document = current.release();
  }

  /**
   * Folds the binary state's unfolded updates once the room has been quiet for a sweep: a busy room
   * folds rarely (cheaper), a quiet one should not keep a buffer of small updates (up to 64 KB) that a
   * single merged part would hold in less.
   */
  foldIfQuiet(now = performance.now()): void {
    const current = this.document;
    if (current.kind !== 'binary' || current.state.unfoldedCount < 2 || this.flushScheduled) return;
    if (now - this.lastFlushAt < QUIET_FOLD_MS) return;
    current.state.merged();
  }

  /** The room's state to store as its snapshot (persistence asks when it compacts). */
  snapshotState(): Uint8Array {
    return this.document.snapshot();
  }

  /** REST calls and other server-side users that keep the room loaded without being peers. */
  private holds = 0;

  /** Keeps the room loaded (and its document live) for a server-side user until `release`. */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds--;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** No peers and nobody holding it: it may unload. */
  get isIdle(): boolean {
    return this.peers.size === 0 && this.holds === 0;
  }

  /** The room's presence states (y-protocols Awareness; read-only to callers). */
  get awareness(): RoomPresence['awareness'] {
    return this.presence.awareness;
  }

  /** Awareness states with the user that published each (for the presence API). */
  presenceStates(): { clientId: number; user: string | null; state: unknown }[] {
    return this.presence.list();
  }

  /** Sends an encoded Tandem extension frame to every peer that opted in. */
  broadcastToTandemPeers(frame: Uint8Array): void {
    for (const peer of this.peers) if (peer.tandem) peer.send(frame);
  }

  /** True while updates or acks wait for the next flush. */
  get hasUnflushedChanges(): boolean {
    return this.incoming.hasReceived || this.incoming.hasPending || this.pendingAcks.size > 0;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  get sizeEstimate(): number {
    return this.approxBytes;
  }

  /** True exactly once for a room that did not exist before: the caller records its creator. */
  claimNew(): boolean {
    const wasUnclaimed = this.unclaimed;
    this.unclaimed = false;
    return wasUnclaimed;
  }

  /** How many connections `user` has to this room on this instance. */
  connectionsOf(user: string): number {
    return this.peers.connectionsOf(user);
  }

  peerList(): Peer[] {
    return [...this.peers];
  }

  /** Changes a live peer's write access (collaborator changed, token refreshed) and tells it. */
  setReadOnly(peer: Peer, readOnly: boolean): void {
    const state = this.peers.get(peer);
    if (!state || peer.readOnly === readOnly) return;
    peer.readOnly = readOnly;
    state.toldReadOnly = false;
    if (readOnly && !this.options.viewerPresence) this.presence.removeStatesOf(peer, 'read-only');
    this.peers.sendStatus(peer, this.name);
  }

  addPeer(peer: Peer): void {
    if (this.destroyed) throw new Error(`room ${this.name} is destroyed`);
    if (this.failed) throw new TandemError('room_reset', 'the room is being reloaded; try again');
    this.peers.add(peer);
    this.peers.sendStatus(peer, this.name);
    // Same opening as y-websocket's server: our state vector, so the client sends what we lack.
    peer.send(encodeSyncStep1(this.document.stateVector()));
    this.presence.welcome(peer);
  }

  removePeer(peer: Peer): void {
    if (!this.peers.remove(peer)) return;
    this.pendingAcks.delete(peer);
    this.presence.leave(peer);
  }

  /** Handles one decoded message from a peer. Throws TandemError when the peer must be dropped. */
  receive(peer: Peer, message: Message): void {
    const state = this.peers.get(peer);
    if (!state) return;
    switch (message.type) {
      case 'sync-step1':
        peer.send(encodeSyncStep2(this.diffFor(message.stateVector)));
        return;
      case 'sync-step2':
      case 'sync-update':
        if (peer.readOnly) this.dropReadOnlyWrite(peer, state);
        else this.applyClientUpdate(peer, state, message.update);
        return;
      case 'awareness':
        if (peer.readOnly && !this.options.viewerPresence) return;
        this.presence.apply(peer, message.update);
        return;
      case 'query-awareness':
        peer.send(this.presence.fullFrame());
        return;
      case 'hello':
        // Opting in with a hello frame (rather than the subprotocol) still gets the room status.
        if (!state.statusSent) this.peers.sendStatus(peer, this.name);
        return;
      case 'auth-denied':
      case 'token':
        return;
      default:
        throw new TandemError('protocol_error', `clients may not send ${message.type} messages`);
    }
  }

  /**
   * A copy of the document as it will be once everything received so far and `update` are applied
   * (received updates wait for the next flush). For extensions that validate an update's result.
   */
  documentWith(update: Uint8Array): Y.Doc {
    return this.incoming.documentWith(this.document.merged(), update);
  }

  /** Refuses a change of about `bytes` that would take the room past its document size limit. */
  assertCapacity(bytes: number): void {
    if (this.approxBytes + this.incoming.receivedBytes + bytes > this.options.maxDocumentBytes) {
      throw new TandemError(
        'document_too_large',
        `the room would exceed its ${this.options.maxDocumentBytes}-byte document limit`,
      );
    }
  }

  /**
   * Applies and sends what is batched now instead of at the scheduled flush; returns the durability
   * promise. Whatever goes wrong inside stays inside this room: see failFlush.
   */
  flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.lastFlushAt = performance.now();
    if (this.failed) return Promise.reject(new TandemError('room_reset', 'the room is being reloaded; try again'));
    try {
      return this.flushBatch();
    } catch (err) {
      return this.failFlush(err);
    }
  }

  private flushBatch(): Promise<void> {
    if (this.incoming.hasReceived) {
      if (this.document.kind === 'live') this.incoming.integrateLive(this.document, this.dropMalformed);
      else this.incoming.integrateBinary(this.document);
    }
    let durable: Promise<void> | null = null;
    const taken = this.incoming.take();
    if (taken) {
      const { merged, skip } = taken;
      // Handed to persistence before anyone is sent it: an update a peer received is always one the
      // store was asked to keep, whatever throws after this line.
      durable = this.persistence.persist(merged);
      this.broadcast(encodeSyncUpdate(merged), skip);
      this.options.onChanged?.(this.name);
    }
    const remote = this.incoming.takeRemote();
    if (remote) this.broadcast(encodeSyncUpdate(remote), null);
    const presence = this.presence.takeChanges();
    if (presence) {
      for (const peer of this.peers) {
        if (peer.sendPresence) peer.sendPresence(this.presence.feed, presence.frame);
        else peer.send(presence.frame);
      }
      if (presence.local && this.options.onAwareness) this.options.onAwareness(this.name, presence.local);
    }
    const acks = this.pendingAcks;
    if (durable === null && acks.size === 0) return this.persistence.idle();
    this.pendingAcks = new Map();
    durable ??= this.persistence.persist(null);
    if (acks.size > 0) {
      const startedAt = this.ackBatchStartedAt;
      durable
        .then(() => {
          this.metrics.ackSeconds.observe((performance.now() - startedAt) / 1000);
          for (const [peer, seq] of acks) if (this.peers.has(peer)) peer.send(encodeAck(seq));
        })
        .catch((err: unknown) => {
          // Rejected: abandoned, no ack, the client resends on reconnect. Anything else is a bug, logged.
          if (!this.persistence.isAbandoned) this.log.error({ err, room: this.name }, 'sending acks failed');
        });
    }
    return durable;
  }

  /**
   * A flush threw (a bug, or input no check foresaw): the in-memory document may hold changes nobody
   * was sent and the store never saw. Nothing of it is trusted any more: every peer is closed with
   * room_reset (they reconnect and resync from the store, resending what was never acked), and the
   * owner drops the room once the writes already handed to persistence settle.
   */
  private failFlush(err: unknown): Promise<void> {
    this.failed = true;
    this.incoming.clear();
    this.pendingAcks.clear();
    this.presence.discardChanges();
    this.log.error({ err, room: this.name }, 'room flush failed; reloading the room');
    this.metrics.roomResets.inc();
    const error = new TandemError('room_reset', 'the room hit an internal error and is being reloaded; reconnect');
    for (const peer of [...this.peers]) peer.fail(error);
    this.options.onFailed?.(this);
    return Promise.reject(error);
  }

  /** True once a flush failed: the room takes no more peers and is being dropped. */
  get hasFailed(): boolean {
    return this.failed;
  }

  /** Detaches listeners and timers. Call only when no peer is left and writes have settled. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.document.kind === 'live') this.document.destroy();
    this.presence.destroy();
  }

  private diffFor(stateVector: Uint8Array): Uint8Array {
    try {
      return this.document.diff(stateVector);
    } catch (cause) {
      throw new TandemError('invalid_update', 'malformed state vector', { cause });
    }
  }

  private dropReadOnlyWrite(peer: Peer, state: PeerState): void {
    // Dropped, never applied or stored. Stock clients cannot be told; Tandem clients are, once.
    this.metrics.readOnlyDrops.inc();
    if (state.toldReadOnly) return;
    state.toldReadOnly = true;
    this.log.info({ room: this.name, peer: peer.id, user: peer.user }, 'dropped update from read-only peer');
    if (peer.tandem) peer.send(encodeError('read_only', 'you have read-only access to this room; edits are not saved'));
  }

  private applyClientUpdate(peer: Peer, state: PeerState, update: Uint8Array): void {
    state.updatesReceived++;
    // Checked now, against what is loaded plus what waits to be applied: once applied, a Yjs update
    // cannot be taken back.
    this.assertCapacity(update.length);
    this.incoming.receive(peer, update, checkUpdate(update));
    if (peer.tandem) {
      if (this.pendingAcks.size === 0) this.ackBatchStartedAt = performance.now();
      this.pendingAcks.set(peer, state.updatesReceived);
    }
    this.scheduleFlush();
  }

  /**
   * An update another instance committed (it arrived over the bus, or was read back from the store):
   * applied to the document and sent to this instance's peers in the next flush, not stored again.
   */
  applyRemote(update: Uint8Array): void {
    if (this.destroyed || this.failed) return;
    const current = this.document;
    if (current.kind === 'live') {
      Y.applyUpdate(current.doc, update, REMOTE);
      return;
    }
    // Checked like a client's: the store may predate today's limits.
    const fresh = current.state.accept(update, checkUpdate(update));
    if (fresh === null) return;
    this.incoming.keepRemote(fresh);
    this.scheduleFlush();
  }

  /** Removes presence states not renewed for 30 s (the registry sweeps every room at once). */
  expirePresence(now = Date.now()): void {
    this.presence.expire(now);
  }

  /** Presence of another instance's peers. Their states expire like any (30 s without renewal). */
  applyRemoteAwareness(update: Uint8Array): void {
    if (this.destroyed || this.failed) return;
    this.presence.applyRemote(update);
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === REMOTE) {
      this.incoming.keepRemote(update);
      this.scheduleFlush();
      return;
    }
    // The batch's own transaction works out whom its frame may skip, inside a flush already running.
    // Any other change is the server's own (REST write, restore): every peer needs it, and a flush.
    if (origin === this.incoming) {
      this.incoming.keep(update);
      return;
    }
    this.incoming.keepFromServer(update);
    this.scheduleFlush();
  };

  /** A peer whose update Yjs refused: dropped, and its batch's writes are not acked. */
  private readonly dropMalformed = (peer: Peer, error: TandemError): void => {
    this.pendingAcks.delete(peer);
    peer.fail(error);
  };

  /**
   * A quiet room flushes at the end of the turn. A busy one — it flushed less than its window ago —
   * waits out the window (`FlushLoad.windowFor`): every frame costs a `writev` per peer whatever it
   * carries, so under load a few milliseconds of waiting turn several one-update frames per peer into
   * one. Every change counts towards that load here, before the early return.
   */
  private scheduleFlush(): void {
    const load = this.options.load;
    load.demand += this.peers.size;
    if (this.flushScheduled || this.destroyed) return;
    this.flushScheduled = true;
    const window = load.windowFor(this.peers.size, this.options.flushWindowMs);
    const wait = this.lastFlushAt + window - performance.now();
    if (wait <= 0) setImmediate(this.flushIfScheduled);
    else this.flushTimer = setTimeout(this.flushIfScheduled, wait);
  }

  private readonly flushIfScheduled = (): void => {
    // A rejected flush means writes were abandoned; persistence already logged it.
    if (this.flushScheduled && !this.destroyed) this.flush().catch(() => undefined);
  };

  private broadcast(frame: Uint8Array, skip: Peer | null = null): void {
    for (const peer of this.peers) if (peer !== skip) peer.send(frame);
  }
}
