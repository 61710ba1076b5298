import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocumentState } from './document-state.js';
import { checkUpdate } from '../yjs/update-check.js';

/** A client document whose every change is recorded as the update it would send. */
function client(id: number): { doc: Y.Doc; sent: Uint8Array[] } {
  const doc = new Y.Doc();
  doc.clientID = id;
  const sent: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => sent.push(u));
  return { doc, sent };
}

const accept = (state: DocumentState, update: Uint8Array) => state.accept(update, checkUpdate(update));

function textOf(update: Uint8Array): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('t').toString();
}

describe('DocumentState', () => {
  it('keeps what is new, and recognises a resend without a document', () => {
    const state = new DocumentState();
    const a = client(1);
    a.doc.getText('t').insert(0, 'hello');
    const first = a.sent[0]!;
    expect(accept(state, first)).toBe(first);
    expect(accept(state, first)).toBeNull();
    expect(Y.decodeStateVector(state.stateVector())).toEqual(new Map([[1, 5]]));
    a.doc.getText('t').insert(5, ' world');
    expect(accept(state, a.sent[1]!)).toBe(a.sent[1]);
    expect(textOf(state.merged())).toBe('hello world');
  });

  it('strips what a whole-state resend repeats and keeps only the rest', () => {
    const state = new DocumentState();
    const a = client(1);
    a.doc.getText('t').insert(0, 'x'.repeat(500));
    accept(state, a.sent[0]!);
    a.doc.getText('t').insert(0, 'new');
    // A reconnecting client sends everything the server's state vector lacks, computed from an old one.
    const whole = Y.encodeStateAsUpdate(a.doc);
    const fresh = accept(state, whole)!;
    expect(fresh.length).toBeLessThan(100);
    expect(textOf(state.merged())).toBe(`new${'x'.repeat(500)}`);
  });

  it('judges a delete set against the deletions it already has', () => {
    const state = new DocumentState();
    const a = client(1);
    a.doc.getText('t').insert(0, 'abcdef');
    accept(state, a.sent[0]!);
    a.doc.getText('t').delete(1, 2);
    const deletion = a.sent[1]!;
    expect(accept(state, deletion)).not.toBeNull();
    // A reconnect's sync step 2 from a client with nothing new: no structs, the whole delete set.
    const resend = Y.encodeStateAsUpdate(a.doc, state.stateVector());
    expect(accept(state, resend)).toBeNull();
    a.doc.getText('t').delete(0, 1);
    expect(accept(state, Y.encodeStateAsUpdate(a.doc, state.stateVector()))).not.toBeNull();
    expect(textOf(state.merged())).toBe('def');
  });

  it('keeps an update past a gap, and advances the state vector only once the gap is filled', () => {
    const state = new DocumentState();
    const a = client(1);
    a.doc.getText('t').insert(0, 'ab');
    a.doc.getText('t').insert(2, 'cd');
    const [early, late] = a.sent as [Uint8Array, Uint8Array];
    expect(accept(state, late)).toBe(late);
    expect(Y.decodeStateVector(state.stateVector()).get(1) ?? 0).toBe(0);
    expect(accept(state, early)).toBe(early);
    expect(Y.decodeStateVector(state.stateVector()).get(1)).toBe(2);
    expect(textOf(state.merged())).toBe('abcd');
    // Folding recomputed the clocks over the filled gap: the late update is now known.
    expect(Y.decodeStateVector(state.stateVector()).get(1)).toBe(4);
    expect(accept(state, late)).toBeNull();
  });

  it('folds many small updates into a few parts, converging to the same document', () => {
    const state = new DocumentState();
    const [a, b] = [client(1), client(2)];
    for (let i = 0; i < 1200; i++) {
      const writer = i % 2 === 0 ? a : b;
      writer.doc.getText('t').insert(0, String(i % 10));
      const update = writer.sent.at(-1)!;
      Y.applyUpdate(i % 2 === 0 ? b.doc : a.doc, update);
      accept(state, update);
    }
    expect(state.partCount).toBeLessThan(600);
    expect(textOf(state.merged())).toBe(a.doc.getText('t').toString());
  });

  it('gives a joiner the diff for its state vector', () => {
    const a = client(1);
    a.doc.getText('t').insert(0, 'base');
    const state = new DocumentState([Y.encodeStateAsUpdate(a.doc)]);
    const joiner = new Y.Doc();
    Y.applyUpdate(joiner, Y.encodeStateAsUpdate(a.doc));
    a.doc.getText('t').insert(4, '+more');
    accept(state, a.sent.at(-1)!);
    const diff = state.diff(Y.encodeStateVector(joiner));
    Y.applyUpdate(joiner, diff);
    expect(joiner.getText('t').toString()).toBe('base+more');
    expect(diff.length).toBeLessThan(Y.encodeStateAsUpdate(a.doc).length);
  });

  it('collects deleted content at compaction once enough was deleted', () => {
    const state = new DocumentState();
    const a = client(1);
    a.doc.getText('t').insert(0, 'x'.repeat(20_000));
    a.doc.getText('t').delete(0, 20_000);
    a.doc.getText('t').insert(0, 'kept');
    for (const u of a.sent) accept(state, u);
    const merged = state.merged().length;
    expect(merged).toBeGreaterThan(20_000);
    const snapshot = state.compacted();
    expect(snapshot.length).toBeLessThan(200);
    expect(textOf(snapshot)).toBe('kept');
    expect(state.merged()).toBe(snapshot);
  });

  it('compacts a document that only grew without integrating it', () => {
    const state = new DocumentState();
    const a = client(1);
    for (let i = 0; i < 200; i++) a.doc.getText('t').insert(0, 'y'.repeat(100));
    for (const u of a.sent) accept(state, u);
    const merged = state.merged();
    // The merged state itself, not a re-encoded document.
    expect(state.compacted()).toBe(merged);
  });
});

describe('checkUpdate on updates that are never integrated', () => {
  it('refuses every mutated update that decodes but would throw in a document (seeded)', () => {
    const base = new Y.Doc();
    base.getText('t').insert(0, 'hello world');
    base.getText('t').format(1, 3, { bold: true });
    base.getMap('m').set('k', { a: 1 });
    const nested = new Y.Map<unknown>();
    base.getArray('a').insert(0, [1, 2, nested]);
    nested.set('x', new Y.Text('in'));
    const state = Y.encodeStateAsUpdate(base);
    let seed = 1337;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let refusedByReference = 0;
    for (let n = 0; n < 15_000; n++) {
      const update = state.slice();
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        update[Math.floor(random() * update.length)] = Math.floor(random() * 256);
      }
      try {
        checkUpdate(update);
      } catch (err) {
        if ((err as Error).message.includes('not created yet')) refusedByReference++;
        continue;
      }
      // Accepted: it must integrate, merge and encode like any update, or a room would be poisoned.
      const doc = new Y.Doc();
      Y.applyUpdate(doc, update);
      Y.applyUpdate(new Y.Doc(), Y.mergeUpdates([state, update]));
      Y.encodeStateAsUpdate(doc);
    }
    expect(refusedByReference).toBeGreaterThan(0);
  });
});
