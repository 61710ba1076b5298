import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_LOAD_SAMPLE_MS, FlushLoad } from './flush-load.js';

/** A load whose samples are FLUSH_LOAD_SAMPLE_MS apart, with `busy` as the event loop's busy share. */
function sampled(batchAbove: number, busy = { share: 0 }) {
  const load = new FlushLoad({ batchAbove, busyShare: () => busy.share });
  let now = performance.now() + 1;
  load.sample(now);
  /** One sample in which `perSecond` deliveries a second were asked for. */
  const step = (perSecond: number): number => {
    load.demand += (perSecond * FLUSH_LOAD_SAMPLE_MS) / 1000;
    now += FLUSH_LOAD_SAMPLE_MS;
    load.sample(now);
    return load.windowScale;
  };
  return { load, step, busy };
}

describe('FlushLoad', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps windows shut below batchAbove, opens them linearly to full at half as many again', () => {
    const { step, load } = sampled(10_000);
    for (let i = 0; i < 20; i++) expect(step(9_000)).toBe(0);
    expect(load.deliveriesPerSecond).toBeCloseTo(9_000, 0);
    for (let i = 0; i < 20; i++) step(12_500);
    expect(load.windowScale).toBeCloseTo(0.5, 3);
    for (let i = 0; i < 20; i++) step(15_000);
    expect(load.windowScale).toBeCloseTo(1, 3);
    for (let i = 0; i < 20; i++) step(100_000);
    expect(load.windowScale).toBe(1);
  });

  it('reacts to a burst within a sample and lets one spike fade', () => {
    const { step } = sampled(10_000);
    expect(step(40_000)).toBe(1); // smoothed to 20,000/s: past the ramp in the burst's own sample
    expect(step(0)).toBeCloseTo(0, 3); // 10,000/s
    expect(step(0)).toBe(0);
  });

  it('opens windows when the event loop is saturated, whatever the deliveries', () => {
    const { step, busy } = sampled(10_000);
    busy.share = 0.6;
    expect(step(0)).toBe(0);
    busy.share = 0.8;
    expect(step(0)).toBeCloseTo(0.5, 3);
    busy.share = 0.95;
    expect(step(0)).toBe(1);
    busy.share = 0.1;
    expect(step(0)).toBe(0);
  });

  it("reads Node's event-loop utilization by default", () => {
    const load = new FlushLoad({ batchAbove: 1_000_000 });
    const until = performance.now() + 200;
    while (performance.now() < until); // the loop busy for the whole sample
    load.sample();
    expect(load.windowScale).toBe(1);
  });

  it('always batches with batchAbove 0', () => {
    const { step } = sampled(0);
    expect(step(0)).toBe(1);
    expect(new FlushLoad({ batchAbove: 0 }).windowScale).toBe(1);
  });

  it('samples on its own timer while started, and reports each sample and the stop', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const seen: number[] = [];
    const load = new FlushLoad({ batchAbove: 10, busyShare: () => 0, onSample: (l) => seen.push(l.windowScale) });
    load.start();
    load.demand = 1_000_000;
    vi.advanceTimersByTime(FLUSH_LOAD_SAMPLE_MS);
    expect(seen).toEqual([1]);
    load.stop();
    expect(load.windowScale).toBe(0);
    expect(seen).toEqual([1, 0]); // told the reset scale once, then no more samples
    vi.advanceTimersByTime(FLUSH_LOAD_SAMPLE_MS * 4);
    expect(seen).toEqual([1, 0]);
  });
});
