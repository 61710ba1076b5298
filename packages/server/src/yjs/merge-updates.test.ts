import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MERGE_GROUP, mergeUpdates } from './merge-updates.js';

/** Typing updates from three clients, interleaved, as a busy room's log holds them. */
function typingUpdates(count: number): Uint8Array[] {
  const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
  const updates: Uint8Array[] = [];
  for (const doc of docs) doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < count; i++) {
    const text = docs[i % docs.length]!.getText('t');
    text.insert(text.length, `${i},`);
    if (i % 7 === 6) text.delete(0, 1);
  }
  return updates;
}

function contentOf(update: Uint8Array): { text: string; vector: Uint8Array } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return { text: doc.getText('t').toString(), vector: Y.encodeStateVector(doc) };
}

describe('mergeUpdates', () => {
  it('merges more updates than one group into what one Yjs merge gives', () => {
    const updates = typingUpdates(MERGE_GROUP * MERGE_GROUP + 17);
    const merged = mergeUpdates(updates);
    expect(contentOf(merged)).toEqual(contentOf(Y.mergeUpdates(updates)));
    expect(Y.encodeStateVectorFromUpdate(merged)).toEqual(Y.encodeStateVectorFromUpdate(Y.mergeUpdates(updates)));
  });

  it('keeps a lone update as it is and merges none into the empty update', () => {
    const [update] = typingUpdates(1);
    expect(mergeUpdates([update!])).toBe(update);
    expect(mergeUpdates([])).toEqual(Y.mergeUpdates([]));
  });
});
