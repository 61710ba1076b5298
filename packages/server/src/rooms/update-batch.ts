import * as Y from 'yjs';
import { TandemError } from '../errors.js';
import { mergeUpdates } from '../yjs/merge-updates.js';
import type { DecodedUpdate } from './document-state.js';
import type { Peer } from './peer.js';
import type { BinaryDocument, LiveDocument } from './room-document.js';

/** What a flush sends and stores: the batch's new content merged, and the one peer that already has it. */
export interface TakenUpdates {
  merged: Uint8Array;
  /** The peer every update of the batch came from, skipped by the frame; null when there were several. */
  skip: Peer | null;
}

/**
 * The client updates a room received since its last flush, and what of them was new to its state:
 * checked updates wait here until the flush integrates them into the room's document (binary or live)
 * all at once; what they added (or the server's own changes) waits until the flush takes it to send
 * and store. The room keeps the ordering rule (persist before broadcast, ack after durable); this only
 * decides what is new and who already has it.
 */
export class UpdateBatch {
  private received: { peer: Peer; update: Uint8Array; decoded: DecodedUpdate }[] = [];
  private bytesReceived = 0;
  /** What was new to the room's state (plus raw updates still waiting for missing content). */
  private pending: Uint8Array[] = [];
  /**
   * The peer every pending update came from, while there is exactly one: it already has them, so the
   * frame skips it. `null` once a second peer (or the server) contributed.
   */
  private origin: Peer | null | undefined = undefined;
  /** Updates other instances committed, applied here: sent to this instance's peers, never stored again. */
  private remote: Uint8Array[] = [];

  /** `kept` is told the size of each update kept for sending and storing (the room's size estimate). */
  constructor(private readonly kept: (bytes: number) => void) {}

  /** Bytes of the received updates: counted against the room's document limit before they are applied. */
  get receivedBytes(): number {
    return this.bytesReceived;
  }

  /** Whether received updates wait to be integrated. */
  get hasReceived(): boolean {
    return this.received.length > 0;
  }

  /** Whether new content waits to be sent and stored. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** A checked client update, integrated at the next flush. */
  receive(peer: Peer, update: Uint8Array, decoded: DecodedUpdate): void {
    this.received.push({ peer, update, decoded });
    this.bytesReceived += update.length;
  }

  /** A change the room made itself (REST write, restore): every peer needs it. */
  keepFromServer(update: Uint8Array): void {
    this.keep(update);
    this.origin = null;
  }

  /** Everything received so far applied to a copy of `base`, then `update` (for extensions' checks). */
  documentWith(base: Uint8Array, update: Uint8Array): Y.Doc {
    const copy = new Y.Doc();
    Y.transact(copy, () => {
      Y.applyUpdate(copy, base);
      for (const r of this.received) Y.applyUpdate(copy, r.update);
      Y.applyUpdate(copy, update);
    });
    return copy;
  }

  /**
   * The hot path, without a document: each received update is compared with the binary state's state
   * vector, and only what it adds is kept, sent and stored — the update as received, or stripped of
   * what a resend repeats. Nothing can fail here per peer: checkUpdate already decoded every update.
   */
  integrateBinary(document: BinaryDocument): void {
    const received = this.takeReceived();
    const state = document.state;
    const before = this.pending.length;
    let origin: Peer | null | undefined;
    for (const { peer, update, decoded } of received) {
      const fresh = state.accept(update, decoded);
      if (fresh === null) continue;
      // A received update is a view into its frame's buffer: copied, so a write queued behind a slow
      // commit does not pin that buffer. (The state copies it into its own buffer.)
      this.keep(fresh === update ? update.slice() : fresh);
      origin = sameOrigin(origin, peer);
    }
    if (this.pending.length > before) this.origin = sameOrigin(this.origin, origin ?? null);
  }

  /**
   * With a document live: applies every received update in one Yjs transaction whose origin is this
   * batch (the room's update listener leaves those to it): the per-transaction work (cleanup, merging
   * structs, encoding the 'update' event) is paid once per batch instead of once per update. A peer
   * whose update is malformed is handed to `malformed` and its later updates in the batch are skipped;
   * the others still apply.
   *
   * A batch of one update (the usual case outside big rooms) is forwarded and stored as received when
   * it added anything: the 'update' listener is detached for that transaction, so Yjs does not encode
   * it all over again, which is about half the cost of applying it. For several updates Yjs's single
   * encoding of the transaction is cheaper than merging them.
   */
  integrateLive(document: LiveDocument, malformed: (peer: Peer, error: TandemError) => void): void {
    const received = this.takeReceived();
    const doc = document.doc;
    const store = doc.store;
    const failed = new Set<Peer>();
    const before = this.pending.length;
    const single = received.length === 1;
    let origin: Peer | null | undefined;
    let transaction: Y.Transaction | undefined;
    const apply = (): void => {
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
              malformed(peer, new TandemError('invalid_update', 'malformed Yjs update', { cause }));
              continue;
            }
            origin = sameOrigin(origin, peer);
            if (!single && (store.pendingStructs !== null || store.pendingDs !== null)) {
              // Part of the update waits for content we do not have yet, so it never reached the
              // 'update' event. Keep the raw bytes in the log too, or an ack would promise something
              // only in memory.
              this.keep(update.slice());
            }
          }
        },
        this,
      );
    };
    // A single update is kept as received: the listener is off for its transaction (see above).
    if (single) document.unobserved(apply);
    else apply();
    if (single && origin !== undefined) {
      // Applied: keep it if it was new, or if part of it waits for missing content (as above).
      if (addedContent(transaction!) || store.pendingStructs !== null || store.pendingDs !== null) {
        this.keep(received[0]!.update.slice());
      }
    } else if (single && addedContent(transaction!)) {
      // Refused, but Yjs had integrated part of it before it threw (its structs come before its
      // malformed delete set). The doc has that part now, so everyone and the log get it too.
      this.keep(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(transaction!.beforeState)));
    }
    if (this.pending.length > before) this.origin = sameOrigin(this.origin, origin ?? null);
  }

  /** What the flush sends and stores, merged; null when nothing new waits. */
  take(): TakenUpdates | null {
    if (this.pending.length === 0) return null;
    const merged = mergeUpdates(this.pending);
    const skip = this.origin ?? null;
    this.pending = [];
    this.origin = undefined;
    return { merged, skip };
  }

  /** An update another instance committed, new to this room's state: sent at the flush, not stored. */
  keepRemote(update: Uint8Array): void {
    this.remote.push(update);
    this.kept(update.length);
  }

  /** Other instances' updates to send, merged; null when none wait. */
  takeRemote(): Uint8Array | null {
    if (this.remote.length === 0) return null;
    const merged = mergeUpdates(this.remote);
    this.remote = [];
    return merged;
  }

  /** Drops everything waiting (a failed flush: none of it is trusted). */
  clear(): void {
    this.received = [];
    this.bytesReceived = 0;
    this.pending = [];
    this.origin = undefined;
    this.remote = [];
  }

  /** An update kept for sending and storing: new content, or raw bytes waiting for missing content. */
  keep(update: Uint8Array): void {
    this.pending.push(update);
    this.kept(update.length);
  }

  private takeReceived(): { peer: Peer; update: Uint8Array; decoded: DecodedUpdate }[] {
    const received = this.received;
    this.received = [];
    this.bytesReceived = 0;
    return received;
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
