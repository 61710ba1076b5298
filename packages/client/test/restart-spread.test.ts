import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../../server/src/server.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import type { TandemProvider } from '../src/index.js';
import { provider } from './support.js';

describe('reconnect after a drain (1012)', () => {
  let server: TandemServer | null = null;
  const providers: TandemProvider[] = [];

  it('200 clients come back spread over the restart window, not in one burst', async () => {
    const windowMs = 2_000;
    server = await startTestServer({ maxConnectionsPerIp: 0, maxRoomsPerIp: 0 });
    const port = server.port;
    for (let i = 0; i < 200; i++) {
      providers.push(
        provider(server.syncUrl, `spread-${i % 20}`, { reconnect: { restartWindowMs: windowMs, baseDelayMs: 50 } }),
      );
    }
    await eventually(() => expect(providers.every((p) => p.status === 'live')).toBe(true), 20_000);
    const backAt = new Map<TandemProvider, number>();
    for (const p of providers) {
      p.on('status', (s) => {
        if (s === 'live' && !backAt.has(p)) backAt.set(p, performance.now());
      });
    }
    await server.drain();
    const restartedAt = performance.now();
    server = await startTestServer({ port, maxConnectionsPerIp: 0, maxRoomsPerIp: 0 });
    await eventually(() => expect(backAt.size).toBe(200), 20_000);
    const times = [...backAt.values()].map((t) => t - restartedAt).sort((a, b) => a - b);
    // Uniform over 2 s: about 20 per 200 ms. One burst would put nearly all of them in one bucket.
    const buckets = new Map<number, number>();
    for (const t of times) buckets.set(Math.floor(t / 200), (buckets.get(Math.floor(t / 200)) ?? 0) + 1);
    expect(Math.max(...buckets.values())).toBeLessThanOrEqual(50);
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(windowMs * 0.6);
    expect(providers.filter((p) => p.getDiagnostics().lastClose?.code === 1012)).toHaveLength(200);
  }, 60_000);
});
