import * as Y from 'yjs';
import { DocumentState } from './document-state.js';

/**
 * A room's document in one of its two forms; the room holds exactly one and swaps it when it
 * materialises a Y.Doc (something needs a document) or releases one (unused for a while). What both
 * answer the same way is here; how each takes a batch of updates stays in the room, which owns the
 * ordering of what is sent and stored.
 */
export interface RoomDocument {
  /** The form, for the room's batch path. */
  readonly kind: 'binary' | 'live';
  /** Encoded state vector: the opening of a sync exchange. */
  stateVector(): Uint8Array;
  /** What a client with `stateVector` lacks (a sync step 2). Throws on a malformed state vector. */
  diff(stateVector: Uint8Array): Uint8Array;
  /** The whole state, to store as the room's snapshot. */
  snapshot(): Uint8Array;
  /** The whole state as one update, to build a copy of the document from. */
  merged(): Uint8Array;
}

/** The hot path's form: merged updates and a state vector, no Y.Doc (see document-state.ts). */
export class BinaryDocument implements RoomDocument {
  readonly kind = 'binary' as const;

  constructor(readonly state: DocumentState) {}

  stateVector(): Uint8Array {
    return this.state.stateVector();
  }

  diff(stateVector: Uint8Array): Uint8Array {
    return this.state.diff(stateVector);
  }

  snapshot(): Uint8Array {
    return this.state.compacted();
  }

  merged(): Uint8Array {
    return this.state.merged();
  }

  /** The Y.Doc form of the same content, listening through `onUpdate`. */
  materialise(onUpdate: (update: Uint8Array, origin: unknown) => void): LiveDocument {
    const doc = this.state.toDoc();
    // 'update' fires only for changes that were new to the doc, so a resent update costs no
    // broadcast and no storage.
    doc.on('update', onUpdate);
    return new LiveDocument(doc, onUpdate);
  }
}

/** A materialised Y.Doc, while REST, revisions or extensions use a document. */
export class LiveDocument implements RoomDocument {
  readonly kind = 'live' as const;

  constructor(
    readonly doc: Y.Doc,
    private readonly onUpdate: (update: Uint8Array, origin: unknown) => void,
  ) {}

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  diff(stateVector: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc, stateVector);
  }

  snapshot(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  merged(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  /** Runs `fn` without the update listener (the room accounts for that transaction itself). */
  unobserved<T>(fn: () => T): T {
    this.doc.off('update', this.onUpdate);
    try {
      return fn();
    } finally {
      this.doc.on('update', this.onUpdate);
    }
  }

  /** Back to the binary form; this document is destroyed. */
  release(): BinaryDocument {
    const binary = new BinaryDocument(DocumentState.fromDoc(this.doc));
    this.destroy();
    return binary;
  }

  destroy(): void {
    this.doc.off('update', this.onUpdate);
    this.doc.destroy();
  }
}
