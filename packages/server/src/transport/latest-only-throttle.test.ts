import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LatestOnlyThrottle } from './latest-only-throttle.js';

describe('LatestOnlyThrottle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('passes a burst at once, then only the latest waiting message when a token refills', () => {
    const delivered: string[] = [];
    let throttled = 0;
    const throttle = new LatestOnlyThrottle<string>(
      10,
      2,
      { deliver: (m) => delivered.push(m) },
      { inc: () => throttled++ },
      () => Date.now(),
    );
    for (const m of ['a', 'b', 'c', 'd', 'e']) throttle.offer(m);
    expect(delivered).toEqual(['a', 'b']);
    expect(throttled).toBe(3);
    vi.advanceTimersByTime(99);
    expect(delivered).toEqual(['a', 'b']);
    vi.advanceTimersByTime(1);
    expect(delivered).toEqual(['a', 'b', 'e']);
    // Nothing else waited: no further delivery however long we wait.
    vi.advanceTimersByTime(10_000);
    expect(delivered).toEqual(['a', 'b', 'e']);
  });

  it('delivers nothing after cancel', () => {
    const delivered: string[] = [];
    const throttle = new LatestOnlyThrottle<string>(10, 1, { deliver: (m) => delivered.push(m) }, null, () =>
      Date.now(),
    );
    throttle.offer('a');
    throttle.offer('b');
    throttle.cancel();
    vi.advanceTimersByTime(1_000);
    expect(delivered).toEqual(['a']);
    throttle.offer('c');
    expect(delivered).toEqual(['a', 'c']);
  });
});
