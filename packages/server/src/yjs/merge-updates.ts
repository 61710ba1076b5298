import * as Y from 'yjs';

/**
 * How many updates one `Y.mergeUpdates` call is given at most. Its cost per update grows with the
 * number of updates it merges (it re-sorts its readers at every struct): on 20-byte typing updates
 * 2.6 µs each in groups of 64, 7.8 µs in groups of 512, 14 µs in groups of 1024 — and a merge is one
 * uninterrupted stall of the event loop (`docs/benchmarks.md`, item 17).
 */
export const MERGE_GROUP = 64;

/**
 * `Y.mergeUpdates` for any number of updates, in groups of MERGE_GROUP and then the groups' results in
 * turn: the same content, at a cost that stays linear in the count. A lone update is returned as it is;
 * none gives the empty update, as with Yjs.
 */
export function mergeUpdates(updates: readonly Uint8Array[]): Uint8Array {
  let level: readonly Uint8Array[] = updates;
  while (level.length > MERGE_GROUP) {
    const next: Uint8Array[] = [];
    for (let start = 0; start < level.length; start += MERGE_GROUP) {
      const group = level.slice(start, start + MERGE_GROUP);
      next.push(group.length === 1 ? group[0]! : Y.mergeUpdates(group));
    }
    level = next;
  }
  return level.length === 1 ? level[0]! : Y.mergeUpdates(level as Uint8Array[]);
}
