import {
  encodeAck,
  encodeError,
  encodeStatus,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type Message,
} from '@tandem/protocol';
import * as Y from 'yjs';
import { TandemError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { DecodedUpdate, DocumentState } from './document-state.js';
import { BinaryDocument, type LiveDocument } from './room-document.js';
import type { FlushLoad } from './flush-load.js';
import type { Peer } from './peer.js';
import { mergeUpdates } from '../yjs/merge-updates.js';
import { REMOTE, RoomPresence } from './room-presence.js';
import type { RoomPersistence, SnapshotSource } from './room-persistence.js';
import { checkUpdate } from '../yjs/update-check.js';

/** Rooms with this many peers or more use the whole flush window. */
export const FULL_WINDOW_PEERS = 100;

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
   * scheduleFlush.
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

interface PeerState {
  /** Whether this peer was already told its writes are dropped (told once, not per update). */
  toldReadOnly: boolean;
  statusSent: boolean;
  /** Count of sync-step2/sync-update messages received: the numbers acks refer to. */
  updatesReceived: number;
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
  private readonly peers = new Map<Peer, PeerState>();
  /** Connected peers per user: a user joins with their first connection and leaves with their last. */
  private readonly connectionsPerUser = new Map<string, number>();
  /** Client updates received since the last flush, applied together when it runs. */
  private received: { peer: Peer; update: Uint8Array; decoded: DecodedUpdate }[] = [];
  private receivedBytes = 0;
  /** What was new to the room's state (plus raw updates still waiting for missing content). */
  private pendingUpdates: Uint8Array[] = [];
  /**
   * The peer every pending update came from, while there is exactly one: it already has them, so the
   * frame skips it. `null` once a second peer (or the server) contributed.
   */
  private pendingOrigin: Peer | null | undefined = undefined;
  /** Updates other instances committed, applied here: sent to our peers, never stored again. */
  private pendingRemote: Uint8Array[] = [];
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
    if (current.kind !== 'live' || this.holds > 0 || this.flushScheduled || this.received.length > 0) return;
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
    for (const peer of this.peers.keys()) if (peer.tandem) peer.send(frame);
  }

  /** True while updates or acks wait for the next flush. */
  get hasUnflushedChanges(): boolean {
    return this.received.length > 0 || this.pendingUpdates.length > 0 || this.pendingAcks.size > 0;
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
    return this.connectionsPerUser.get(user) ?? 0;
  }

  peerList(): Peer[] {
    return [...this.peers.keys()];
  }

  /** Changes a live peer's write access (collaborator changed, token refreshed) and tells it. */
  setReadOnly(peer: Peer, readOnly: boolean): void {
    const state = this.peers.get(peer);
    if (!state || peer.readOnly === readOnly) return;
    peer.readOnly = readOnly;
    state.toldReadOnly = false;
    if (readOnly && !this.options.viewerPresence) this.presence.removeStatesOf(peer, 'read-only');
    this.sendStatus(peer);
  }

  addPeer(peer: Peer): void {
    if (this.destroyed) throw new Error(`room ${this.name} is destroyed`);
    if (this.failed) throw new TandemError('room_reset', 'the room is being reloaded; try again');
    this.connectionsPerUser.set(peer.user, (this.connectionsPerUser.get(peer.user) ?? 0) + 1);
    this.peers.set(peer, {
      updatesReceived: 0,
      toldReadOnly: false,
      statusSent: false,
    });
    this.sendStatus(peer);
    // Same opening as y-websocket's server: our state vector, so the client sends what we lack.
    peer.send(encodeSyncStep1(this.document.stateVector()));
    this.presence.welcome(peer);
  }

  removePeer(peer: Peer): void {
    const state = this.peers.get(peer);
    if (!state) return;
    this.peers.delete(peer);
    const connections = (this.connectionsPerUser.get(peer.user) ?? 1) - 1;
    if (connections > 0) this.connectionsPerUser.set(peer.user, connections);
    else this.connectionsPerUser.delete(peer.user);
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
        if (!state.statusSent) this.sendStatus(peer);
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
    const copy = new Y.Doc();
    Y.transact(copy, () => {
      Y.applyUpdate(copy, this.document.merged());
      for (const r of this.received) Y.applyUpdate(copy, r.update);
      Y.applyUpdate(copy, update);
    });
    return copy;
  }

  /** Refuses a change of about `bytes` that would take the room past its document size limit. */
  assertCapacity(bytes: number): void {
    if (this.approxBytes + this.receivedBytes + bytes > this.options.maxDocumentBytes) {
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
    if (this.received.length > 0) {
      if (this.document.kind === 'live') this.applyReceived(this.document);
      else this.acceptReceived(this.document);
    }
    let durable: Promise<void> | null = null;
    if (this.pendingUpdates.length > 0) {
      const merged = mergeUpdates(this.pendingUpdates);
      const skip = this.pendingOrigin ?? null;
      this.pendingUpdates = [];
      this.pendingOrigin = undefined;
      // Handed to persistence before anyone is sent it: an update a peer received is always one the
      // store was asked to keep, whatever throws after this line.
      durable = this.persistence.persist(merged);
      this.broadcast(encodeSyncUpdate(merged), skip);
      this.options.onChanged?.(this.name);
    }
    if (this.pendingRemote.length > 0) {
      const merged = mergeUpdates(this.pendingRemote);
      this.pendingRemote = [];
      this.broadcast(encodeSyncUpdate(merged), null);
    }
    const presence = this.presence.takeChanges();
    if (presence) {
      for (const peer of this.peers.keys()) {
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
    this.received = [];
    this.pendingUpdates = [];
    this.pendingAcks.clear();
    this.presence.discardChanges();
    this.log.error({ err, room: this.name }, 'room flush failed; reloading the room');
    this.metrics.roomResets.inc();
    const error = new TandemError('room_reset', 'the room hit an internal error and is being reloaded; reconnect');
    for (const peer of [...this.peers.keys()]) peer.fail(error);
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

  private sendStatus(peer: Peer): void {
    const state = this.peers.get(peer);
    if (!peer.tandem || !state) return;
    state.statusSent = true;
    peer.send(
      encodeStatus({ room: this.name, serverTime: Date.now(), peers: this.peers.size, readOnly: peer.readOnly }),
    );
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
    const decoded = checkUpdate(update);
    this.received.push({ peer, update, decoded });
    this.receivedBytes += update.length;
    if (peer.tandem) {
      if (this.pendingAcks.size === 0) this.ackBatchStartedAt = performance.now();
      this.pendingAcks.set(peer, state.updatesReceived);
    }
    this.scheduleFlush();
  }

  /**
   * The hot path, without a document: each received update is compared with the binary state's state
   * vector, and only what it adds is kept, sent and stored — the update as received, or stripped of
   * what a resend repeats. Nothing can fail here per peer: checkUpdate already decoded every update.
   */
  private acceptReceived(document: BinaryDocument): void {
    const received = this.received;
    this.received = [];
    this.receivedBytes = 0;
    const state = document.state;
    const before = this.pendingUpdates.length;
    let origin: Peer | null | undefined;
    for (const { peer, update, decoded } of received) {
      const fresh = state.accept(update, decoded);
      if (fresh === null) continue;
      // A received update is a view into its frame's buffer: copied, so a write queued behind a slow
      // commit does not pin that buffer. (The state copies it into its own buffer.)
      this.keepPending(fresh === update ? update.slice() : fresh);
      origin = sameOrigin(origin, peer);
    }
    if (this.pendingUpdates.length > before) this.pendingOrigin = sameOrigin(this.pendingOrigin, origin ?? null);
  }

  /**
   * With a document live: applies every received update in one Yjs transaction: the per-transaction
   * work (cleanup, merging structs, encoding the 'update' event) is paid once per batch instead of once
   * per update. A peer whose update is malformed is dropped and its later updates in the batch are
   * skipped; the others still apply.
   *
   * A batch of one update (the usual case outside big rooms) is forwarded and stored as received when
   * it added anything: the 'update' listener is detached for that transaction, so Yjs does not encode
   * it all over again, which is about half the cost of applying it. For several updates Yjs's single
   * encoding of the transaction is cheaper than merging them.
   */
  private applyReceived(document: LiveDocument): void {
    const received = this.received;
    this.received = [];
    this.receivedBytes = 0;
    const doc = document.doc;
    const store = doc.store;
    const failed = new Set<Peer>();
    const before = this.pendingUpdates.length;
    const single = received.length === 1;
    let origin: Peer | null | undefined;
    let transaction: Y.Transaction | undefined;
    // A single update is kept as received: the listener is off for its transaction (see above).
    const apply = (): void => {
      // The room itself is the transaction's origin, which tells onDocUpdate the batch is accounted here.
      Y.transact(
        doc,
        (tr) => {
          transaction = tr;
          for (const { peer, update } of received) {
            if (failed.has(peer)) continue;
            try {
              Y.applyUpdate(doc, update);
            } catch (cause) {
              failed.add(peer);
              this.pendingAcks.delete(peer);
              peer.fail(new TandemError('invalid_update', 'malformed Yjs update', { cause }));
              continue;
            }
            origin = sameOrigin(origin, peer);
            if (!single && (store.pendingStructs !== null || store.pendingDs !== null)) {
              // Part of the update waits for content we do not have yet, so it never reached the
              // 'update' event. Keep the raw bytes in the log too, or an ack would promise something
              // only in memory.
              this.keepPending(update.slice());
            }
          }
        },
        this,
      );
    };
    if (single) document.unobserved(apply);
    else apply();
    if (single && origin !== undefined) {
      // Applied: keep it if it was new, or if part of it waits for missing content (as above).
      if (addedContent(transaction!) || store.pendingStructs !== null || store.pendingDs !== null) {
        this.keepPending(received[0]!.update.slice());
      }
    } else if (single && addedContent(transaction!)) {
      // Refused, but Yjs had integrated part of it before it threw (its structs come before its
      // malformed delete set). The doc has that part now, so everyone and the log get it too.
      this.keepPending(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(transaction!.beforeState)));
    }
    if (this.pendingUpdates.length > before) this.pendingOrigin = sameOrigin(this.pendingOrigin, origin ?? null);
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
    this.pendingRemote.push(fresh);
    this.approxBytes += fresh.length;
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
      this.pendingRemote.push(update);
      this.approxBytes += update.length;
      this.scheduleFlush();
      return;
    }
    this.keepPending(update);
    // applyReceived's batch works out whom its frame may skip, inside a flush already running. Any other
    // change is the server's own (REST write, restore): every peer needs it, and it needs a flush.
    if (origin === this) return;
    this.pendingOrigin = null;
    this.scheduleFlush();
  };

  private keepPending(update: Uint8Array): void {
    this.pendingUpdates.push(update);
    this.approxBytes += update.length;
  }

  /**
   * A quiet room flushes at the end of the turn. A busy one — it flushed less than its window ago —
   * waits out the window: every frame costs a `writev` per peer whatever it carries, so under load a
   * few milliseconds of waiting turn several one-update frames per peer into one. The window grows
   * with the room because a flush costs one write per peer: this caps the CPU a busy room's fan-out
   * can take (about 100 frames per window-length) while small rooms keep the lowest latency. It opens
   * only while the process is loaded (`FlushLoad`): with headroom, CPU saved is worth less than the
   * milliseconds it costs. Every change counts towards that load here, before the early return.
   */
  private scheduleFlush(): void {
    const load = this.options.load;
    load.demand += this.peers.size;
    if (this.flushScheduled || this.destroyed) return;
    this.flushScheduled = true;
    const window = this.options.flushWindowMs * Math.min(1, this.peers.size / FULL_WINDOW_PEERS) * load.windowScale;
    const wait = this.lastFlushAt + window - performance.now();
    if (wait <= 0) setImmediate(this.flushIfScheduled);
    else this.flushTimer = setTimeout(this.flushIfScheduled, wait);
  }

  private readonly flushIfScheduled = (): void => {
    // A rejected flush means writes were abandoned; persistence already logged it.
    if (this.flushScheduled && !this.destroyed) this.flush().catch(() => undefined);
  };

  private broadcast(frame: Uint8Array, skip: Peer | null = null): void {
    for (const peer of this.peers.keys()) if (peer !== skip) peer.send(frame);
  }
}

/** The one peer all of a batch's changes came from, or null once there is a second source. */
function sameOrigin(current: Peer | null | undefined, next: Peer | null): Peer | null {
  return current === undefined || current === next ? next : null;
}

/** Whether a finished transaction changed the document (Yjs's own test before it emits 'update'). */
function addedContent(tr: Y.Transaction): boolean {
  if (tr.deleteSet.clients.size > 0) return true;
  for (const [client, clock] of tr.afterState) if (tr.beforeState.get(client) !== clock) return true;
  return false;
}
