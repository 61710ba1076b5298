import { TokenBucket } from './token-bucket.js';

/**
 * Rate-limits a kind of message whose latest copy supersedes the earlier ones (presence, a request for
 * the document diff): within the budget a message is handled at once; over it, only the latest waits
 * and is handled as soon as a token is available. Nothing queues beyond one message.
 */
export class LatestOnlyThrottle<T> {
  private readonly bucket: TokenBucket;
  private waiting: T | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    ratePerSec: number,
    burst: number,
    private readonly handle: (message: T) => void,
    /** Told each time a message had to wait or was superseded. */
    private readonly onThrottled: () => void = () => undefined,
  ) {
    this.bucket = new TokenBucket(ratePerSec, burst);
  }

  offer(message: T): void {
    if (this.timer === null && this.bucket.take()) {
      this.handle(message);
      return;
    }
    this.onThrottled();
    this.waiting = message;
    this.timer ??= setTimeout(this.release, this.bucket.msUntilToken());
  }

  /** Drops what waits; nothing is handled afterwards unless offered again. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiting = null;
  }

  private readonly release = (): void => {
    this.timer = null;
    const message = this.waiting;
    this.waiting = null;
    if (message !== null) this.offer(message);
  };
}
