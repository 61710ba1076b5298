import { tokenExpiry } from './token-expiry.js';

/** A token, or a function asked for one on every connect and before the current one expires. */
export type TokenSource = string | (() => string | Promise<string>);

/** How long before a token expires a fresh one is asked for (see schedule). */
const REFRESH_AHEAD_MS = 60_000;

/**
 * Asks the app's token function for a token on every connect, and again before the current one
 * expires, handing the fresh one to `deliver` (which sends it over the live connection in-band, so the
 * session outlives the old token). A fixed string is never refreshed.
 */
export class TokenRefresher {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly source: TokenSource | undefined,
    /** Takes a fresh token; false when there is no connection to send it over (no further refresh). */
    private readonly deliver: (token: string) => boolean,
  ) {}

  /** The token to connect with now. Rejects when the app's function throws. */
  async resolve(): Promise<string | undefined> {
    const source = this.source;
    if (source === undefined || typeof source === 'string') return source;
    return source();
  }

  /** Plans the refresh of `token`: a minute ahead of its expiry, or at 80% of a short token's life. */
  schedule(token: string): void {
    if (typeof this.source !== 'function') return;
    const expiresAt = tokenExpiry(token);
    if (expiresAt === null) return;
    const left = expiresAt - Date.now();
    // Never a tight loop, whatever the token's life.
    const wait = left > 2 * REFRESH_AHEAD_MS ? left - REFRESH_AHEAD_MS : Math.max(1_000, left * 0.8);
    this.stop();
    this.timer = setTimeout(() => void this.refresh(), wait);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async refresh(): Promise<void> {
    this.timer = null;
    let token: string | undefined;
    try {
      token = await this.resolve();
    } catch {
      return; // the server closes with 4401 at expiry; the reconnect asks the token function again
    }
    if (token !== undefined && this.deliver(token)) this.schedule(token);
  }
}
