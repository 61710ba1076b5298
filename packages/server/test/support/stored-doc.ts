import * as Y from 'yjs';
import type { Store, StoredRoom } from '../../src/storage/store.js';

/** A Y.Doc rebuilt from what a store holds for a room: snapshot, then its tail, as loading does. */
export function docFromStored(stored: Pick<StoredRoom, 'snapshot' | 'updates'> | null): Y.Doc {
  const doc = new Y.Doc();
  if (stored?.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const u of stored?.updates ?? []) Y.applyUpdate(doc, u);
  return doc;
}

export async function storedDoc(store: Store, room: string): Promise<Y.Doc> {
  return docFromStored(await store.loadRoom(room));
}
