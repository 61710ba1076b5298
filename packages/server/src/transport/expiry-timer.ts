// setTimeout cannot wait longer than 2^31-1 ms; longer expiries are re-armed in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onExpired` at `expiresAt` (ms since epoch), at once if that has passed. Returns a cancel
 * function. The timer never keeps the process alive.
 */
export function onExpiry(expiresAt: number, onExpired: () => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const arm = (): void => {
    const wait = expiresAt - Date.now();
    if (wait <= 0) {
      timer = null;
      onExpired();
      return;
    }
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
}
