/** The part of a browser's `window` the provider listens to (typed here so Node builds need no DOM types). */
interface BrowserWindow {
  addEventListener(type: string, listener: (event: never) => void): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
  document?: {
    visibilityState?: string;
    addEventListener(type: string, listener: () => void): void;
    removeEventListener(type: string, listener: () => void): void;
  };
}

export interface BrowserHooks {
  /** The network is back (`online`) or the tab became visible: a good moment to retry at once. */
  retryNow(): void;
  /** The browser says it is offline. */
  offline(): void;
  /** The page is going away (`pagehide`): remove this client's presence now. */
  leaving(): void;
  /** Whether closing the tab should ask first (`beforeunload`). */
  shouldWarnBeforeUnload(): boolean;
}

/** Whether the browser reports being offline (false outside browsers). */
export function browserOffline(): boolean {
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  return nav?.onLine === false;
}

/** Listens to the window's lifecycle events; returns a function that stops. A no-op outside browsers. */
export function listenToBrowser(hooks: BrowserHooks): () => void {
  const win = (globalThis as { window?: BrowserWindow }).window;
  if (!win?.addEventListener) return () => undefined;
  const onOnline = (): void => hooks.retryNow();
  const onOffline = (): void => hooks.offline();
  const onVisible = (): void => {
    if (win.document?.visibilityState === 'visible') hooks.retryNow();
  };
  const onPageHide = (): void => hooks.leaving();
  const onBeforeUnload = (event: { preventDefault(): void; returnValue: unknown }): void => {
    if (!hooks.shouldWarnBeforeUnload()) return;
    event.preventDefault();
    event.returnValue = '';
  };
  win.addEventListener('online', onOnline);
  win.addEventListener('offline', onOffline);
  win.document?.addEventListener('visibilitychange', onVisible);
  win.addEventListener('pagehide', onPageHide);
  win.addEventListener('beforeunload', onBeforeUnload);
  return () => {
    win.removeEventListener('online', onOnline);
    win.removeEventListener('offline', onOffline);
    win.document?.removeEventListener('visibilitychange', onVisible);
    win.removeEventListener('pagehide', onPageHide);
    win.removeEventListener('beforeunload', onBeforeUnload);
  };
}
