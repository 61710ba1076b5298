import * as Y from 'yjs';
import { mergeUpdates } from '../yjs/merge-updates.js';
import type { DecodedUpdate } from '../yjs/update-check.js';

export type { DecodedUpdate } from '../yjs/update-check.js';

type DeleteSet = DecodedUpdate['ds'];

/**
 * Accepted updates kept as they came before they are folded into one part (see add). Folding costs
 * about what integrating did, and a busy room compacts (folding everything) every few hundred updates
 * anyway, so on the hot path folds are rare: at most this many updates, or this many bytes, wait for
 * one. A room that went quiet is folded by the registry's sweep (Room.foldIfQuiet).
 */
const MAX_UNFOLDED = 512;
const MAX_UNFOLDED_BYTES = 64 * 1024;

/**
 * What a room knows of its document, in binary and without a Y.Doc: the loaded state and every update
 * accepted since, as a short list of Yjs updates, plus the state vector they add up to. Accepting an
 * update costs a comparison of its struct ranges with the state vector (it was decoded once already, by
 * checkUpdate) instead of integrating it into a document; joiners get a diff of the merged parts.
 *
 * The state vector only advances over contiguous ranges, as a document's would: an update past a gap
 * (missing dependency) is kept, stored and forwarded, but until the gap is filled a resend of it is not
 * recognised — harmless, Yjs updates are idempotent. An item whose origin is another client's missing
 * item counts as known here while a document would hold it pending; both have its bytes, so a joiner's
 * diff still carries it.
 */
export class DocumentState {
  /** Folded parts, each more than twice the size of the next. */
  private folded: Uint8Array[];
  /** Accepted updates not folded yet, back to back in one buffer. */
  private readonly unfolded = new UnfoldedUpdates();
  private clocks: Map<number, number>;
  private encodedVector: Uint8Array | null = null;
  /** A gap was accepted: the next full fold recomputes the clocks from the merged state. */
  private sawGap = false;
  /** Delete sets known to be in the state, merged lazily (null: not derived yet). */
  private knownDeletes: DeleteSet[] | null = null;
  /**
   * Items deleted by updates accepted since deleted content was last collected (see compacted): about
   * the bytes of content a collection would drop, without decoding the state to find out.
   */
  private deletedSinceCollect = 0;

  constructor(updates: Uint8Array[] = []) {
    const merged = updates.length === 0 ? null : mergeUpdates(updates);
    this.folded = merged ? [merged] : [];
    this.clocks = merged ? Y.decodeStateVector(Y.encodeStateVectorFromUpdate(merged)) : new Map();
  }

  /** The state a document holds, GC'd: the parts become just that state. */
  static fromDoc(doc: Y.Doc): DocumentState {
    return new DocumentState([Y.encodeStateAsUpdate(doc)]);
  }

  /** How many updates the state is kept as (folded as they accumulate). */
  get partCount(): number {
    return this.folded.length + this.unfolded.count;
  }

  /** Accepted updates not folded yet. */
  get unfoldedCount(): number {
    return this.unfolded.count;
  }

  stateVector(): Uint8Array {
    return (this.encodedVector ??= Y.encodeStateVector(this.clocks));
  }

  /** Everything known, as one update. */
  merged(): Uint8Array {
    if (this.folded.length !== 1 || this.unfolded.count > 0) this.foldAll();
    return this.folded[0]!;
  }

  /** What a peer with `stateVector` lacks. Throws on a malformed state vector. */
  diff(stateVector: Uint8Array): Uint8Array {
    return Y.diffUpdate(this.merged(), stateVector);
  }

  /** A document built from the state, for the few readers that need one (REST, revisions, hooks). */
  toDoc(): Y.Doc {
    const doc = new Y.Doc({ gc: true });
    Y.applyUpdate(doc, this.merged());
    return doc;
  }

  /**
   * Accepts an update: returns what of it is new (the update itself, or it stripped of structs we
   * already have), or null when it adds nothing — a resend is neither forwarded nor stored again.
   */
  accept(update: Uint8Array, decoded: DecodedUpdate): Uint8Array | null {
    const { structs, ds } = decoded;
    let addsStructs = false;
    let repeatsStructs = false;
    const advances: [number, number][] = [];
    for (let i = 0; i < structs.length;) {
      const client = structs[i]!.id.client;
      const known = this.clocks.get(client) ?? 0;
      let reach = known;
      let contiguous = true;
      for (; i < structs.length && structs[i]!.id.client === client; i++) {
        const struct = structs[i]!;
        if (struct instanceof Y.Skip) {
          contiguous = false;
          continue;
        }
        const { clock } = struct.id;
        const end = clock + struct.length;
        if (clock < known) repeatsStructs = true;
        if (end > known) addsStructs = true;
        if (!contiguous) continue;
        if (clock > reach) contiguous = false;
        else if (end > reach) reach = end;
      }
      if (!contiguous) this.sawGap = true;
      if (reach > known) advances.push([client, reach]);
    }
    const deletes = ds.clients.size > 0;
    if (!addsStructs && (!deletes || this.deletesKnown(ds))) return null;
    const fresh = repeatsStructs ? Y.diffUpdate(update, this.stateVector()) : update;
    for (const [client, clock] of advances) this.clocks.set(client, clock);
    if (advances.length > 0) this.encodedVector = null;
    if (deletes) {
      this.knownDeletes?.push(ds);
      for (const items of ds.clients.values()) for (const { len } of items) this.deletedSinceCollect += len;
    }
    this.add(fresh);
    return fresh;
  }

  /**
   * The state to write as a snapshot. Merging parts keeps deleted content, so once what was deleted
   * since the last collection is a quarter of the state, it is collected (through a document, which
   * costs a full integration) and the parts become that smaller state. A document that only grows is
   * never integrated.
   */
  compacted(): Uint8Array {
    const merged = this.merged();
    if (this.deletedSinceCollect < Math.max(4096, merged.length / 4)) return merged;
    const doc = this.toDoc();
    try {
      const state = Y.encodeStateAsUpdate(doc);
      this.replaceWith(state);
      return state;
    } finally {
      doc.destroy();
    }
  }

  private replaceWith(state: Uint8Array): void {
    this.folded = [state];
    this.unfolded.clear();
    this.deletedSinceCollect = 0;
    this.knownDeletes = null;
  }

  private add(part: Uint8Array): void {
    this.unfolded.push(part);
    if (this.unfolded.count <= MAX_UNFOLDED && this.unfolded.bytes <= MAX_UNFOLDED_BYTES) return;
    // Fold the unfolded updates into one part, then keep folding while a part is no bigger than twice
    // the one after it: the parts stay a geometric series (a few, however long the room lives), and each
    // byte is merged a logarithmic number of times rather than once per fold.
    this.folded.push(mergeOwned(this.unfolded.views()));
    this.unfolded.clear();
    while (this.folded.length >= 2) {
      const last = this.folded.length - 1;
      if (this.folded[last - 1]!.length > 2 * this.folded[last]!.length) break;
      this.folded.splice(last - 1, 2, Y.mergeUpdates([this.folded[last - 1]!, this.folded[last]!]));
    }
  }

  private foldAll(): void {
    const merged = mergeOwned([...this.folded, ...this.unfolded.views()]);
    this.folded = [merged];
    this.unfolded.clear();
    if (this.sawGap) {
      // A filled gap leaves ranges the incremental clocks never reached; the merged state knows them.
      this.sawGap = false;
      this.clocks = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(merged));
      this.encodedVector = null;
    }
  }

  /** Whether every deletion in `ds` is one the state already has (a resent update's delete set). */
  private deletesKnown(ds: DeleteSet): boolean {
    // mergeDeleteSets also sorts and merges the ranges, which `covered` relies on.
    this.knownDeletes ??= [Y.mergeDeleteSets([Y.decodeUpdate(this.merged()).ds])];
    if (this.knownDeletes.length > 1) this.knownDeletes = [Y.mergeDeleteSets(this.knownDeletes)];
    const known = this.knownDeletes[0]!.clients;
    for (const [client, items] of ds.clients) {
      const ranges = known.get(client);
      if (!ranges) return false;
      for (const { clock, len } of items) if (!covered(ranges, clock, len)) return false;
    }
    return true;
  }
}

/** Whether [clock, clock+len) lies within one of `ranges` (sorted and merged, as mergeDeleteSets leaves them). */
function covered(ranges: { clock: number; len: number }[], clock: number, len: number): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const range = ranges[mid]!;
    if (clock < range.clock) high = mid - 1;
    else if (clock >= range.clock + range.len) low = mid + 1;
    else return clock + len <= range.clock + range.len;
  }
  return false;
}

/**
 * Merges updates into one that shares no memory with them: mergeUpdates hands back a lone update as
 * it is, and a view into UnfoldedUpdates' buffer would be overwritten after it is cleared.
 */
function mergeOwned(updates: Uint8Array[]): Uint8Array {
  return updates.length === 1 ? updates[0]!.slice() : mergeUpdates(updates);
}

/**
 * Updates back to back in one growing buffer, with their end offsets: hundreds of small updates waiting
 * to be folded are one object for the garbage collector instead of hundreds (which it would copy at
 * every young-generation collection and then promote).
 */
class UnfoldedUpdates {
  private buffer = new Uint8Array(0);
  private ends: number[] = [];

  get count(): number {
    return this.ends.length;
  }

  get bytes(): number {
    return this.ends.length === 0 ? 0 : this.ends[this.ends.length - 1]!;
  }

  push(update: Uint8Array): void {
    const start = this.bytes;
    const end = start + update.length;
    if (end > this.buffer.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.buffer.length, 256));
      grown.set(this.buffer.subarray(0, start));
      this.buffer = grown;
    }
    this.buffer.set(update, start);
    this.ends.push(end);
  }

  /** The updates, as views into the buffer: valid until the next clear (see mergeOwned). */
  views(): Uint8Array[] {
    let start = 0;
    return this.ends.map((end) => {
      const view = this.buffer.subarray(start, end);
      start = end;
      return view;
    });
  }

  clear(): void {
    this.ends = [];
    // A small buffer is kept for the next updates; a big one is not held by a room that went quiet.
    if (this.buffer.length > 4096) this.buffer = new Uint8Array(0);
  }
}
