import * as Y from 'yjs';
import type { StoredRoom } from '../storage/store.js';

/** A Yjs update inserting `text` into the text `t`, from a fixed client id (so runs are repeatable). */
export function textUpdate(text: string, clientID = 1): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

/** A Y.Doc rebuilt from what a store holds for a room: snapshot, then its tail, as loading does. */
export function docFromStored(stored: Pick<StoredRoom, 'snapshot' | 'updates'> | null): Y.Doc {
  const doc = new Y.Doc();
  if (stored?.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const u of stored?.updates ?? []) Y.applyUpdate(doc, u);
  return doc;
}
