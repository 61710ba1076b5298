import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/events/webhook-sender.js';
import { silentLogger } from '../src/ops/logger.js';
import { Metrics } from '../src/ops/metrics.js';
import { eventually } from './support/eventually.js';

describe('WebhookSender internals', () => {
  let receiver: Server;
  afterEach(() => receiver?.close());

  it('does not spin while every delivery slot waits on a slow receiver, and delivers everything', async () => {
    let received = 0;
    receiver = createServer((_req, res) =>
      setTimeout(() => {
        received++;
        res.end();
      }, 600),
    );
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    const sender = new WebhookSender({ urls: [url], secret: 'x', concurrency: 2 }, silentLogger(), new Metrics());
    let pumps = 0;
    const internals = sender as unknown as { pump: () => void };
    const pump = internals.pump.bind(sender);
    internals.pump = () => {
      pumps++;
      pump();
    };
    for (let i = 0; i < 6; i++) sender.enqueue({ id: String(i), type: 't', room: 'r', ts: 0, user: null, data: null });
    await new Promise((r) => setTimeout(r, 500));
    // Six enqueues pump once each; a spinning timer would have pumped hundreds of times by now.
    expect(pumps).toBeLessThan(20);
    await eventually(() => expect(received).toBe(6), 10_000);
    sender.stop();
  });
});
