import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/events/webhook-sender.js';
import { silentLogger } from '../src/ops/logger.js';
import { Metrics } from '../src/ops/metrics.js';
import type { TandemServer } from '../src/server.js';
import { MemoryStore } from '../src/storage/memory/memory-store.js';
import { api } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { startTestServer, tempDir } from './support/server.js';
import { afterThisTest } from './support/cleanup.js';

/** A webhook receiver whose answer the test controls; records event types in arrival order. */
async function receiver(
  answer: () => number,
  delayMs = 0,
): Promise<{ server: Server; url: string; types: string[]; concurrent: { now: number; max: number } }> {
  const types: string[] = [];
  const concurrent = { now: 0, max: 0 };
  const server = createServer((req, res) => {
    concurrent.now++;
    concurrent.max = Math.max(concurrent.max, concurrent.now);
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () =>
      setTimeout(() => {
        const status = answer();
        if (status < 300) types.push((JSON.parse(body) as { type: string }).type);
        concurrent.now--;
        res.writeHead(status).end();
      }, delayMs),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, types, concurrent };
}

describe('WebhookSender', () => {
  it('delivers every stored event with at most `concurrency` in flight, and moves its cursor past them', async () => {
    const hook = await receiver(() => 204, 100);
    afterThisTest(() => hook.server.close());
    const store = new MemoryStore();
    const sender = new WebhookSender(
      { urls: [hook.url], secret: 's', concurrency: 2 },
      store,
      silentLogger(),
      new Metrics(),
    );
    await sender.start();
    afterThisTest(() => sender.stop());
    for (let i = 0; i < 8; i++) {
      await store.appendEvent('r', { type: `t${i}`, user: null, data: i });
      sender.notify();
    }
    await eventually(
      () => expect([...hook.types].sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']),
      10_000,
    );
    expect(hook.concurrent.max).toBe(2);
    await eventually(async () =>
      expect(await store.getCursor(`webhook:${hook.url}`)).toBe(await store.lastEventPosition()),
    );
  });

  it('a new URL starts at the newest event; events stored before it are not replayed', async () => {
    const hook = await receiver(() => 204);
    afterThisTest(() => hook.server.close());
    const store = new MemoryStore();
    await store.appendEvent('r', { type: 'old', user: null, data: null });
    const sender = new WebhookSender({ urls: [hook.url], secret: 's' }, store, silentLogger(), new Metrics());
    await sender.start();
    afterThisTest(() => sender.stop());
    await store.appendEvent('r', { type: 'new', user: null, data: null });
    sender.notify();
    await eventually(() => expect(hook.types).toEqual(['new']));
  });

  it('events not delivered before a restart are delivered after it (cursor in the SQLite store)', async () => {
    let status = 500;
    const hook = await receiver(() => status);
    afterThisTest(() => hook.server.close());
    const dir = tempDir();
    const config = {
      store: 'sqlite' as const,
      dataDir: dir.dir,
      webhookUrl: [hook.url],
      webhookSecret: 'whsec-0123456789',
    };
    const deps = { webhookOptions: { retryBaseMs: 20, maxDelayMs: 50 } };
    let server: TandemServer = await startTestServer(config, deps);
    for (const type of ['a', 'b', 'c']) {
      expect((await api(server.httpUrl, 'POST', '/v1/rooms/wh/events', { body: { type } })).status).toBe(201);
    }
    await eventually(async () => {
      const failed = (await server.metrics.webhookFailures.get()).values.find(
        (v) => v.labels.reason === 'delivery_failed',
      );
      expect(failed?.value).toBeGreaterThanOrEqual(3);
    });
    await server.drain();
    expect(hook.types).toEqual([]);

    status = 204;
    server = await startTestServer(config, deps);
    await eventually(() => expect([...hook.types].sort()).toEqual(['a', 'b', 'c']));
  });
});
