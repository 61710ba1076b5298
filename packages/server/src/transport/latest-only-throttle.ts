import { TokenBucket } from './token-bucket.js';

/** Where a throttle hands the messages it lets through. */
export interface ThrottleTarget<T> {
  deliver(message: T): void;
}

/**
 * Rate-limits a kind of message whose latest copy supersedes the earlier ones (presence, a request for
 * the document diff): within the budget a message is handled at once; over it, only the latest waits
 * and is handled as soon as a token is available. Nothing queues beyond one message.
 *
 * It is its own token bucket, and takes a target and a counter rather than callbacks, so a throttle is
 * one object and no closures: every connection that sends presence or a sync request has one.
 */
export class LatestOnlyThrottle<T> extends TokenBucket {
  private waiting: T | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    ratePerSec: number,
    burst: number,
    private readonly target: ThrottleTarget<T>,
    /** Counts each message that had to wait or was superseded. */
    private readonly throttled: { inc(): void } | null = null,
    now?: () => number,
  ) {
    super(ratePerSec, burst, now);
  }

  offer(message: T): void {
    if (this.timer === null && this.take()) {
      this.target.deliver(message);
      return;
    }
    this.throttled?.inc();
    this.waiting = message;
    this.timer ??= setTimeout(LatestOnlyThrottle.release, this.msUntilToken(), this);
  }

  /** Drops what waits; nothing is handled afterwards unless offered again. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiting = null;
  }

  private static release<T>(throttle: LatestOnlyThrottle<T>): void {
    throttle.timer = null;
    const message = throttle.waiting;
    throttle.waiting = null;
    if (message !== null) throttle.offer(message);
  }
}
