import type { Other } from '@tandem/client';
import { useCallback } from 'react';
import { noSubscription, shallowEqual, useExternal } from './hooks.js';
import { useProvider } from './room.js';

/** Whether the room's document has had its first sync: an empty room and a room still loading differ. */
export function useSynced(): boolean {
  const provider = useProvider();
  const subscribe = useCallback(
    (notify: () => void) =>
      provider ? (provider.on('synced', notify), () => provider.off('synced', notify)) : noSubscription(),
    [provider],
  );
  return useExternal(subscribe, () => provider?.synced ?? false);
}

/**
 * For `<Suspense>`: suspends until the room's document has had its first sync, then renders. Put it in
 * a component under `<TandemRoom>` and a `<Suspense fallback>` around that component.
 */
export function useSuspendUntilSynced(): void {
  const provider = useProvider();
  const synced = useSynced();
  if (synced) return;
  // Thrown promises are React's Suspense protocol; before the provider exists, the next render has it.
  throw provider ? provider.whenSynced() : new Promise((resolve) => setTimeout(resolve, 0));
}

export interface RoomError {
  code: string;
  message: string;
}

/**
 * The latest coded error of the room (`invalid_room_name`, `read_only`, a server refusal such as
 * `permission_denied`…); null while none, and again once the connection is live.
 */
export function useError(): RoomError | null {
  const provider = useProvider();
  const subscribe = useCallback(
    (notify: () => void) => {
      if (!provider) return noSubscription();
      provider.on('error', notify);
      provider.on('status', notify);
      return () => {
        provider.off('error', notify);
        provider.off('status', notify);
      };
    },
    [provider],
  );
  return useExternal(
    subscribe,
    () => {
      if (!provider || provider.status === 'live' || provider.status === 'fallback') return null;
      return provider.getDiagnostics().lastError;
    },
    (a, b) => a === b || (a !== null && b !== null && a.code === b.code && a.message === b.message),
  );
}

/** Retries the connection now instead of waiting out the backoff (a "retry" button). */
export function useRetryNow(): () => void {
  const provider = useProvider();
  return useCallback(() => provider?.retryNow(), [provider]);
}

/** This client as the others see it: its presence user and state (null before the provider exists). */
export function useSelf(): Pick<Other, 'user' | 'state'> | null {
  const provider = useProvider();
  const subscribe = useCallback(
    (notify: () => void) => (provider ? provider.presence.onChange(notify) : noSubscription()),
    [provider],
  );
  const mine = useExternal(subscribe, () => provider?.presence.mine ?? null, shallowEqual);
  if (!mine) return null;
  const { user, ...state } = mine as { user?: Other['user'] } & Record<string, unknown>;
  return { user: user ?? {}, state };
}
