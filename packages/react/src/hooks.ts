import type { ConnectionStatus, Other, Presence, SaveState, TandemProvider, Transport } from '@tandem/client';
import type { EventEnvelope } from '@tandem/protocol';
import { useCallback, useEffect, useRef, useSyncExternalStore } from 'react';
import { invalidateSnapshot, jsonSnapshot, type SharedType } from './json-snapshot.js';
import { useDoc, useProvider, useRoom } from './room.js';

type Unsubscribe = () => void;

/**
 * Subscribes to something that changes, re-rendering only when `read()` returns a value that is not
 * `equal` to the last one (so a selector over a big document re-renders only for what it selects).
 */
function useExternal<T>(
  subscribe: (notify: () => void) => Unsubscribe,
  read: () => T,
  equal: (a: T, b: T) => boolean = Object.is,
): T {
  const cache = useRef<{ value: T } | null>(null);
  const readRef = useRef(read);
  readRef.current = read;
  const snapshot = useCallback((): T => {
    const next = readRef.current();
    if (cache.current && equal(cache.current.value, next)) return cache.current.value;
    cache.current = { value: next };
    return next;
  }, [equal]);
  const sub = useCallback(
    (notify: () => void) => {
      cache.current = null;
      return subscribe(notify);
    },
    // The subscription is keyed by what it subscribes to; callers pass stable dependencies.
    [subscribe],
  );
  return useSyncExternalStore(sub, snapshot, snapshot);
}

/** Shallow equality for arrays and plain objects (the default for map and array selectors). */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function useObserved<T>(type: SharedType, read: () => T, equal: (a: T, b: T) => boolean): T {
  const subscribe = useCallback(
    (notify: () => void) => {
      // The snapshot is marked changed before React reads it again, whichever observer Yjs runs first.
      const changed = () => {
        invalidateSnapshot(type);
        notify();
      };
      type.observeDeep(changed);
      return () => type.unobserveDeep(changed);
    },
    [type],
  );
  return useExternal(subscribe, read, equal);
}

/** The text of the document's `Y.Text` named `name`, re-rendering when it changes. */
export function useText(name: string): string {
  const text = useDoc().getText(name);
  return useObserved(text, () => text.toString(), Object.is);
}

/**
 * The document's `Y.Map` named `name` as JSON, or what `selector` picks from it; re-renders only when
 * that is not shallow-equal to the previous value. Nested shared types (a `Y.Map` in it) come as JSON
 * too; the value is the same object until something in the map changes, and unchanged parts keep their
 * objects after a change (so `memo` children re-render only for what changed).
 */
export function useMap<T = Record<string, unknown>>(name: string, selector?: (map: Record<string, unknown>) => T): T {
  const map = useDoc().getMap(name);
  const select = selector ?? ((v: Record<string, unknown>) => v as T);
  return useObserved(map, () => select(jsonSnapshot(map) as Record<string, unknown>), shallowEqual);
}

/**
 * The document's `Y.Array` named `name` as JSON, or what `selector` picks from it (shallow-compared);
 * a `Y.Array` of `Y.Map`s comes as an array of objects, stable like `useMap`'s.
 */
export function useArray<T = unknown[]>(name: string, selector?: (items: unknown[]) => T): T {
  const array = useDoc().getArray(name);
  const select = selector ?? ((v: unknown[]) => v as T);
  return useObserved(array, () => select(jsonSnapshot(array) as unknown[]), shallowEqual);
}

const noSubscription = (): Unsubscribe => () => undefined;

/** What a hook re-reads the provider on. */
type ProviderEvent = 'status' | 'transport' | 'save' | 'synced';

/**
 * A value read from the room's provider, read again whenever the provider emits one of `events`;
 * `read(null)` before the provider exists (the first render).
 */
export function useProviderValue<T>(
  events: readonly ProviderEvent[],
  read: (provider: TandemProvider | null) => T,
  equal?: (a: T, b: T) => boolean,
): T {
  const provider = useProvider();
  const key = events.join(',');
  const subscribe = useCallback(
    (notify: () => void) => {
      if (!provider) return noSubscription();
      for (const event of events) provider.on(event, notify);
      return () => {
        for (const event of events) provider.off(event, notify);
      };
    },
    // Keyed by the events' names: callers pass a new array literal on every render.
    [provider, key],
  );
  return useExternal(subscribe, () => read(provider), equal);
}

/** A value read from the room's presence, read again whenever anyone's presence changes. */
function usePresenceValue<T>(read: (presence: Presence | null) => T, equal: (a: T, b: T) => boolean): T {
  const provider = useProvider();
  const subscribe = useCallback(
    (notify: () => void) => (provider ? provider.presence.onChange(notify) : noSubscription()),
    [provider],
  );
  return useExternal(subscribe, () => read(provider?.presence ?? null), equal);
}

/** The connection status; `connecting` until the room's provider exists. */
export function useStatus(): ConnectionStatus {
  return useProviderValue(['status'], (provider) => provider?.status ?? 'connecting');
}

/** What carries the connection: `websocket`, or the HTTP fallback (`http-stream`, `http-polling`). */
export function useTransport(): Transport {
  return useProviderValue(['transport'], (provider) => provider?.transport ?? 'websocket');
}

/**
 * Whether local changes are durable on the server, and how many are not yet: `saved`, `saving`,
 * `unsaved`, `unknown` (nothing reached the server yet) or `read-only` (this client may not write).
 */
export function useSaveState(): { state: SaveState; pendingUpdates: number } {
  return useProviderValue(
    ['save', 'status'],
    // Before the provider exists nothing was acknowledged: not "saved".
    (provider) => ({ state: provider?.saveState ?? 'unknown', pendingUpdates: provider?.pendingUpdates ?? 0 }),
    shallowEqual,
  );
}

/** Everyone else in the room, one entry per user. */
export function useOthers(): Other[] {
  return usePresenceValue((presence) => presence?.others() ?? [], sameOthers);
}

function sameOthers(a: Other[], b: Other[]): boolean {
  return a.length === b.length && a.every((o, i) => JSON.stringify(o) === JSON.stringify(b[i]));
}

/** Merges fields into this client's presence; calls made before the room's provider exists are kept for it. */
export function useUpdateMyPresence(): (fields: Record<string, unknown>) => void {
  return useRoom().updatePresence;
}

/** This client's presence state and a function that merges fields into it. */
export function useMyPresence(): [Record<string, unknown> | null, (fields: Record<string, unknown>) => void] {
  return [useMyPresenceState(), useUpdateMyPresence()];
}

/** This client's presence state; null before the provider exists. */
export function useMyPresenceState(): Record<string, unknown> | null {
  return usePresenceValue((presence) => presence?.mine ?? null, shallowEqual);
}

/** Calls `handler` for each event of `type` (or `'*'`); the latest handler is used without resubscribing. */
export function useEvent(type: string, handler: (event: EventEnvelope) => void): void {
  const provider = useProvider();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => provider?.events.on(type, (e) => latest.current(e)), [provider, type]);
}

/** Publishes an app event over the room's socket; resolves with the stored event. */
export function useSendEvent(): (
  type: string,
  data?: unknown,
  options?: { idempotencyKey?: string },
) => Promise<EventEnvelope> {
  const provider = useProvider();
  return useCallback(
    (type, data, options) =>
      provider ? provider.events.send(type, data, options) : Promise.reject(new Error('the room is not connected yet')),
    [provider],
  );
}
