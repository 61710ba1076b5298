import * as prng from 'lib0/prng';
import { describe, expect, it } from 'vitest';
import { defaultReconnectOptions, ReconnectPolicy } from './reconnect-policy.js';

const options = { ...defaultReconnectOptions, baseDelayMs: 100, maxDelayMs: 3_200, stableAfterMs: 10_000 };
const seeded = (seed: number): (() => number) => {
  const gen = prng.create(seed);
  return () => prng.real53(gen);
};
const delay = (d: ReturnType<ReconnectPolicy['decide']>): number => {
  if (d.action !== 'retry') throw new Error(`expected a retry, got ${d.action}`);
  return d.delayMs;
};

describe('ReconnectPolicy', () => {
  it('backs off exponentially with full jitter, capped at maxDelayMs', () => {
    const policy = new ReconnectPolicy(options, () => 1); // the top of each jitter range
    expect(Array.from({ length: 8 }, () => delay(policy.decide(1006, 0)))).toEqual([
      100, 200, 400, 800, 1600, 3200, 3200, 3200,
    ]);
    const jittered = new ReconnectPolicy(options, seeded(42));
    const delays = Array.from({ length: 200 }, () => delay(jittered.decide(1006, 0)));
    expect(delays.every((d) => d >= 0 && d <= 3200)).toBe(true);
    // Full jitter: the capped attempts spread over the whole range rather than sitting at the cap.
    const capped = delays.slice(10);
    expect(Math.min(...capped)).toBeLessThan(800);
    expect(Math.max(...capped)).toBeGreaterThan(2400);
  });

  it('starts over after a connection that stayed live long enough, not after a short one', () => {
    const policy = new ReconnectPolicy(options, () => 1);
    for (let i = 0; i < 5; i++) policy.decide(1006, 0);
    expect(delay(policy.decide(1006, 2_000))).toBe(3200);
    expect(delay(policy.decide(1006, 10_000))).toBe(100);
  });

  it('is exhausted (status offline) after fastAttempts failures in a row', () => {
    const policy = new ReconnectPolicy({ ...options, fastAttempts: 3 }, () => 0.5);
    for (let i = 0; i < 2; i++) policy.decide(1006, 0);
    expect(policy.exhausted).toBe(false);
    policy.decide(1006, 0);
    expect(policy.exhausted).toBe(true);
  });

  it.each([4403, 4410, 1008, 1009, 1007, 1002])('a %i close is final: no retry', (code) => {
    expect(new ReconnectPolicy(options).decide(code, 5_000)).toEqual({ action: 'fail' });
  });

  it('4401: one fresh token, then failed; a later expiry after a live connection gets one again', () => {
    const policy = new ReconnectPolicy(options);
    expect(policy.decide(4401, 0)).toEqual({ action: 'refresh-token' });
    expect(policy.decide(4401, 0)).toEqual({ action: 'fail' });
    const renewed = new ReconnectPolicy(options);
    expect(renewed.decide(4401, 0)).toEqual({ action: 'refresh-token' });
    expect(renewed.decide(4401, 60_000)).toEqual({ action: 'refresh-token' });
  });

  it('1012/1013: the first retry is spread over the restart window; 4429 waits in the slow tier', () => {
    const window = 10_000;
    const firsts = Array.from({ length: 100 }, (_, i) =>
      delay(new ReconnectPolicy({ ...options, restartWindowMs: window }, seeded(i)).decide(1012, 5_000)),
    );
    expect(Math.min(...firsts)).toBeLessThan(window * 0.2);
    expect(Math.max(...firsts)).toBeGreaterThan(window * 0.8);
    expect(firsts.every((d) => d <= window)).toBe(true);
    const slow = new ReconnectPolicy({ ...options, slowDelayMs: 60_000 }, () => 0);
    expect(delay(slow.decide(4429, 0))).toBe(30_000);
  });
});
