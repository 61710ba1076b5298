import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TANDEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisReachable(): Promise<boolean> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Like needPostgres: required with CI=true, skipped loudly elsewhere. */
export async function needRedis(suite: string): Promise<boolean> {
  if (process.env.CI === 'true') return true;
  if (await redisReachable()) return true;
  // eslint-disable-next-line no-console -- a skipped suite must be impossible to miss
  console.warn(`\n!!! SKIPPING ${suite}: no Redis at ${TEST_REDIS_URL} (set TANDEM_TEST_REDIS_URL)\n`);
  return false;
}
