import { describe, expect, it } from 'vitest';
import { measure, serverEnv } from '../src/harness.js';
import { needPostgres } from '../../packages/server/test/support/postgres.js';
import { needRedis } from '../../packages/server/test/support/redis.js';

const withServices =
  (await needPostgres('the two-instance bench smoke')) && (await needRedis('the two-instance bench smoke'));

// Keeps the harness from rotting: a tiny load against each server. Numbers are not checked here
// (speed lives in `npm run bench`), only that every part of the pipeline produces them.
describe('bench harness smoke', () => {
  it('gives y-websocket its persistence only in the durable target', () => {
    const paths = { dataDir: '/tmp/x', heapFile: '/tmp/x/heap.json' };
    const inherited = { PATH: '/bin', YPERSISTENCE: '/somewhere' };
    expect(serverEnv('ywebsocket', inherited, paths).YPERSISTENCE).toBeUndefined();
    expect(serverEnv('ywebsocket-leveldb', inherited, paths).YPERSISTENCE).toBe('/tmp/x/leveldb');
    expect(serverEnv('tandem', inherited, paths)).toMatchObject({ PATH: '/bin', BENCH_HEAP_FILE: '/tmp/x/heap.json' });
  });

  it.each(['tandem', 'ywebsocket', 'hocuspocus', 'wsrelay', 'ywebsocket-leveldb', 'hocuspocus-sqlite'] as const)(
    'measures %s end to end',
    async (target) => {
      const m = await measure(target, {
        name: 'smoke',
        rooms: 2,
        clientsPerRoom: 3,
        rate: 60,
        mode: 'edit',
        warmupMs: 300,
        durationMs: 800,
      });
      expect(m.load.connected).toBe(6);
      expect(m.load.expected).toBeGreaterThan(0);
      expect(m.load.delivered).toBe(m.load.expected);
      expect(m.load.latencyMs.p99).toBeGreaterThan(0);
      // 6 clients × 60 updates/s for 800 ms: enough work to register in /proc's 10 ms CPU ticks.
      expect(m.cpuSeconds).toBeGreaterThan(0);
      expect(m.cpuMicrosPerDelivery).toBeGreaterThan(0);
      expect(m.rssBytes).toBeGreaterThan(0);
    },
  );
});

describe.runIf(withServices)('two-instance bench smoke (PostgreSQL + Redis)', () => {
  it.each(['tandem-cluster', 'hocuspocus-redis'] as const)('measures %s across two instances', async (target) => {
    const m = await measure(target, {
      name: 'smoke',
      rooms: 2,
      clientsPerRoom: 4,
      rate: 40,
      mode: 'edit',
      warmupMs: 500,
      durationMs: 800,
    });
    expect(m.load.connected).toBe(8);
    // Counted on the servers' side (/proc/net/tcp): each instance really holds half of the clients.
    expect(m.connectionsPerInstance).toEqual([4, 4]);
    expect(m.load.delivered).toBe(m.load.expected);
    // Half of every room's clients are on the other instance: those deliveries crossed through Redis.
    expect(m.load.crossInstanceLatencyMs?.p99).toBeGreaterThan(0);
    expect(m.cpuMicrosPerDelivery).toBeGreaterThan(0);
  });
});
