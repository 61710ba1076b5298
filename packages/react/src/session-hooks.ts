import type { Other, ProviderError } from '@tandem/client';
import { useCallback, useEffect, useState } from 'react';
import { useMyPresenceState, useProviderValue } from './hooks.js';
import { useProvider } from './room.js';

/** Whether the room's document has had its first sync: an empty room and a room still loading differ. */
export function useSynced(): boolean {
  return useProviderValue(['synced'], (provider) => provider?.synced ?? false);
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

/** The latest error of the room: a server's coded refusal or one the provider raised itself. */
export type RoomError = ProviderError;

/**
 * The latest coded error of the room (`invalid_room_name`, `read_only`, a server refusal such as
 * `permission_denied`…), or null: cleared when the connection next becomes live, so an error raised
 * while live (a viewer's edit) stays until then.
 */
export function useError(): RoomError | null {
  const provider = useProvider();
  const [error, setError] = useState<RoomError | null>(null);
  useEffect(() => {
    if (!provider) return;
    const live = () => provider.status === 'live' || provider.status === 'fallback';
    setError(live() ? null : provider.getDiagnostics().lastError);
    const onError = (next: RoomError) => setError(next);
    const onStatus = () => {
      if (live()) setError(null);
    };
    provider.on('error', onError);
    provider.on('status', onStatus);
    return () => {
      provider.off('error', onError);
      provider.off('status', onStatus);
    };
  }, [provider]);
  return error;
}

/** Retries the connection now instead of waiting out the backoff (a "retry" button). */
export function useRetryNow(): () => void {
  const provider = useProvider();
  return useCallback(() => provider?.retryNow(), [provider]);
}

/** This client as the others see it: its presence user and state (null before the provider exists). */
export function useSelf(): Pick<Other, 'user' | 'state'> | null {
  const mine = useMyPresenceState();
  if (!mine) return null;
  const { user, ...state } = mine as { user?: Other['user'] } & Record<string, unknown>;
  return { user: user ?? {}, state };
}
