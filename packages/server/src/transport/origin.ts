import type { IncomingMessage } from 'node:http';

/**
 * Cross-site WebSocket hijacking guard for cookie auth: a browser always sends Origin, and a page on
 * another site must not ride the user's cookie. Allowed: the configured origins, or the server's own.
 * No Origin means a non-browser client, which cannot carry a victim's cookie.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  // '*' is deliberately not honoured here: with cookies it would switch the guard off.
  if (allowed.includes(origin)) return true;
  const host = req.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}
