import { createHmac } from 'node:crypto';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { EventEnvelope } from './event-service.js';

export interface WebhookOptions {
  urls: string[];
  secret: string;
  /** First retry delay; doubles per attempt (with jitter) up to maxDelayMs. */
  retryBaseMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  /** Deliveries waiting at most; beyond it the oldest is dropped (logged and counted). */
  maxQueue?: number;
  timeoutMs?: number;
  concurrency?: number;
}

interface Delivery {
  url: string;
  event: EventEnvelope;
  body: string;
  attempt: number;
  notBefore: number;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, verified as documented in docs/api.md. */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * Delivers every event to each configured URL as a signed POST, retrying with exponential backoff until a
 * 2xx (at least once while the process lives). Runs beside the hot path: enqueueing is O(1) and sending
 * happens on timers with bounded concurrency.
 */
export class WebhookSender {
  private queue: Delivery[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly retryBaseMs: number;
  private readonly maxDelayMs: number;
  private readonly maxAttempts: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly options: WebhookOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.retryBaseMs = options.retryBaseMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 12;
    this.maxQueue = options.maxQueue ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.concurrency = options.concurrency ?? 4;
  }

  readonly enqueue = (event: EventEnvelope): void => {
    if (this.stopped) return;
    const body = JSON.stringify(event);
    for (const url of this.options.urls) {
      if (this.queue.length >= this.maxQueue) {
        const dropped = this.queue.shift()!;
        this.metrics.webhookFailures.inc({ reason: 'queue_full' });
        this.log.error({ url: dropped.url, event: dropped.event.id }, 'webhook queue full; dropping oldest delivery');
      }
      this.queue.push({ url, event, body, attempt: 0, notBefore: 0 });
    }
    this.pump();
  };

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    while (this.inFlight < this.concurrency) {
      const index = this.queue.findIndex((d) => d.notBefore <= now);
      if (index === -1) break;
      const [delivery] = this.queue.splice(index, 1);
      this.inFlight++;
      void this.send(delivery!).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
    this.scheduleNext(now);
  }

  private scheduleNext(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // With every slot busy, the next finishing delivery pumps; a timer would only spin until then.
    if (this.queue.length === 0 || this.inFlight >= this.concurrency) return;
    const next = Math.min(...this.queue.map((d) => d.notBefore));
    this.timer = setTimeout(() => this.pump(), Math.max(0, next - now));
    this.timer.unref();
  }

  private async send(delivery: Delivery): Promise<void> {
    delivery.attempt++;
    const timestamp = Math.floor(Date.now() / 1000);
    let failure: string;
    try {
      const res = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tandem-webhooks/1',
          'tandem-signature': signWebhook(this.options.secret, delivery.body, timestamp),
          'tandem-event-id': `${delivery.event.room}:${delivery.event.id}`,
          'tandem-delivery-attempt': String(delivery.attempt),
        },
        body: delivery.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      failure = `HTTP ${res.status}`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    this.metrics.webhookFailures.inc({ reason: 'delivery_failed' });
    if (delivery.attempt >= this.maxAttempts || this.stopped) {
      this.log.error({ url: delivery.url, event: delivery.event.id, failure }, 'webhook delivery abandoned');
      return;
    }
    const backoff = Math.min(this.maxDelayMs, this.retryBaseMs * 2 ** (delivery.attempt - 1));
    delivery.notBefore = Date.now() + backoff / 2 + Math.random() * (backoff / 2);
    this.log.warn(
      { url: delivery.url, event: delivery.event.id, failure, attempt: delivery.attempt },
      'webhook failed; will retry',
    );
    this.queue.push(delivery);
  }
}
