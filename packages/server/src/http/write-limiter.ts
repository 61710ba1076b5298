import { TandemError } from '../errors.js';
import { TokenBucket } from '../transport/token-bucket.js';

// Bounded: a flood of distinct user ids cannot grow this without limit.
const MAX_TRACKED = 10_000;

/** Per-user rate limit for REST writes, the same budget a socket gets. */
export class WriteLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  take(user: string): void {
    let bucket = this.buckets.get(user);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = new TokenBucket(this.ratePerSec, this.burst);
      this.buckets.set(user, bucket);
    }
    if (!bucket.take()) throw new TandemError('rate_limited', 'too many writes; slow down');
  }
}
