import { closeAction } from '@tandem/protocol';

export interface ReconnectOptions {
  /** First backoff step; doubles per failed attempt (full jitter: the delay is uniform in [0, step]). */
  baseDelayMs: number;
  /** Largest backoff step. */
  maxDelayMs: number;
  /**
   * After a restart or overload close (1012, 1013) the first retry is uniform over this window, so the
   * clients of a restarted server do not all come back in the same second.
   */
  restartWindowMs: number;
  /** A connection that stayed live this long resets the backoff. */
  stableAfterMs: number;
  /** Failed attempts in a row before the status says `offline` (retries go on, at the capped step). */
  fastAttempts: number;
  /** After a 4429 (rate limited), retries wait uniformly in [slowDelayMs / 2, slowDelayMs]. */
  slowDelayMs: number;
}

export const defaultReconnectOptions: ReconnectOptions = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  restartWindowMs: 10_000,
  stableAfterMs: 10_000,
  fastAttempts: 8,
  slowDelayMs: 60_000,
};

/** What to do after a socket closed. */
export type ReconnectDecision =
  | { action: 'retry'; delayMs: number }
  /** Refused for its credential: get a fresh token and try once more at once. */
  | { action: 'refresh-token' }
  /** Refused for good: retrying would be refused again (or loop on the same update). */
  | { action: 'fail' };

/**
 * The reconnect schedule, by close code. Pure apart from `random`, so fake timers and a seeded random
 * test it exactly. One instance per provider: it counts attempts since the last stable connection.
 */
export class ReconnectPolicy {
  private attempts = 0;
  /** Whether the last refusal was 4401 and a fresh token was already tried for it. */
  private refreshedForAuth = false;

  constructor(
    private readonly options: ReconnectOptions = defaultReconnectOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failed attempts since the last stable connection. */
  get failedAttempts(): number {
    return this.attempts;
  }

  /** True once retries have left their fast tier (the status says `offline`). */
  get exhausted(): boolean {
    return this.attempts >= this.options.fastAttempts;
  }

  /** A connection was live for `liveMs` before it closed with `code`. */
  decide(code: number, liveMs: number): ReconnectDecision {
    if (liveMs >= this.options.stableAfterMs) this.reset();
    // A connection that got live proved its token: a later 4401 (expiry) deserves a fresh one again.
    if (liveMs > 0) this.refreshedForAuth = false;
    // What each close code calls for is the protocol's (closeAction); the schedule is ours.
    const action = closeAction(code);
    if (action === 'refresh-token') {
      if (this.refreshedForAuth) return { action: 'fail' };
      this.refreshedForAuth = true;
      return { action: 'refresh-token' };
    }
    if (action === 'stop') return { action: 'fail' };
    const attempt = this.attempts++;
    const { baseDelayMs, maxDelayMs, restartWindowMs, slowDelayMs } = this.options;
    if (action === 'retry-slowly') return { action: 'retry', delayMs: slowDelayMs * (0.5 + this.random() / 2) };
    if (action === 'retry-spread' && attempt === 0) {
      return { action: 'retry', delayMs: this.random() * restartWindowMs };
    }
    const step = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    return { action: 'retry', delayMs: this.random() * step };
  }

  /** A connection became stable, or the user asked to connect now: start the schedule over. */
  reset(): void {
    this.attempts = 0;
    this.refreshedForAuth = false;
  }
}
