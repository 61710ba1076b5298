import { useSyncExternalStore } from 'react';

export type View = 'editor' | 'board';
export type Route = { page: 'home' } | { page: 'room'; room: string; view: View };

/** `/r/<room>` is the editor and `/r/<room>/board` the board; the room name is percent-encoded. */
export function parseRoute(pathname: string): Route {
  const match = /^\/r\/([^/]+)(\/board)?\/?$/.exec(pathname);
  if (!match) return { page: 'home' };
  try {
    return { page: 'room', room: decodeURIComponent(match[1]!), view: match[2] ? 'board' : 'editor' };
  } catch {
    return { page: 'home' };
  }
}

export function roomPath(room: string, view: View = 'editor'): string {
  return `/r/${encodeURIComponent(room)}${view === 'board' ? '/board' : ''}`;
}

export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

function subscribe(notify: () => void): () => void {
  addEventListener('popstate', notify);
  return () => removeEventListener('popstate', notify);
}

export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}
