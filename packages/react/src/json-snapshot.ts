/** What a snapshot is taken of: a Yjs shared type (`Y.Map`, `Y.Array`, `Y.Text`…). */
export interface SharedType {
  observeDeep(f: () => void): void;
  unobserveDeep(f: () => void): void;
  toJSON(): unknown;
}

interface Entry {
  value: unknown;
  stale: boolean;
}

const entries = new WeakMap<SharedType, Entry>();

/**
 * A shared type's JSON, the same object until the type (or anything nested in it) changes, and then
 * sharing every unchanged part with the previous value: React's `useSyncExternalStore` needs a stable
 * snapshot between changes (a fresh `toJSON()` per read loops forever on nested types), and memoised
 * children re-render only for the items that changed — as Liveblocks' `useStorage` does.
 */
export function jsonSnapshot(type: SharedType): unknown {
  let entry = entries.get(type);
  if (!entry) {
    const created: Entry = { value: undefined, stale: true };
    type.observeDeep(() => {
      created.stale = true;
    });
    entries.set(type, created);
    entry = created;
  }
  if (entry.stale) {
    entry.value = share(entry.value, type.toJSON());
    entry.stale = false;
  }
  return entry.value;
}

/** Marks the type's snapshot as changed (before its subscribers read it again). */
export function invalidateSnapshot(type: SharedType): void {
  const entry = entries.get(type);
  if (entry) entry.stale = true;
}

/** `next`, with every part that is deep-equal to the same part of `prev` replaced by `prev`'s. */
export function share(prev: unknown, next: unknown): unknown {
  if (Object.is(prev, next)) return prev;
  if (typeof prev !== 'object' || typeof next !== 'object' || prev === null || next === null) return next;
  if (Array.isArray(prev) !== Array.isArray(next)) return next;
  if (Array.isArray(next)) {
    const old = prev as unknown[];
    const items = next.map((item, i) => share(old[i], item));
    return items.length === old.length && items.every((item, i) => item === old[i]) ? old : items;
  }
  if (next instanceof Uint8Array || prev instanceof Uint8Array) return next;
  const old = prev as Record<string, unknown>;
  const fields = next as Record<string, unknown>;
  const keys = Object.keys(fields);
  const out: Record<string, unknown> = {};
  let same = keys.length === Object.keys(old).length;
  for (const key of keys) {
    out[key] = share(old[key], fields[key]);
    if (!(key in old) || out[key] !== old[key]) same = false;
  }
  return same ? old : out;
}
