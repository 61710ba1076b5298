import { createHmac } from 'node:crypto';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { soleLeadership, type Lease, type Leadership } from '../storage/leadership.js';
import type { EventFeed, LoggedEvent } from '../storage/store.js';
import { toEnvelope } from './event-service.js';

export interface WebhookOptions {
  urls: string[];
  secret: string;
  /** First retry delay; doubles per attempt (with jitter) up to maxDelayMs. */
  retryBaseMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Deliveries in flight per URL; the cursor only passes events that are all done. */
  concurrency?: number;
  /** How often an instance that is not delivering asks for the lease again (default 5000 ms). */
  leaseRetryMs?: number;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, verified as documented in docs/api.md. */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

const cursorName = (url: string): string => `webhook:${url}`;
/** The lease of the instance that delivers (cursors are shared, so one delivering is enough). */
const LEASE_NAME = 'tandem:webhooks';
/** How long a stop waits for deliveries in flight; they are at-least-once anyway. */
const STOP_WAIT_MS = 2_000;

/**
 * Delivers every stored event to each configured URL as a signed POST, at least once across restarts
 * and crashes: each URL has a cursor in the store over the store-wide event order, moved past an event
 * only once it (and every event before it) was delivered or given up on. A new URL starts at the
 * newest event. Nothing is queued in memory beyond a small window per URL: events are read back from
 * the store, so a long outage of one receiver costs nothing but its cursor's lag.
 */
export class WebhookSender {
  private workers: UrlWorker[] = [];
  private readonly settings: DeliverySettings;
  private lease: Lease | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly leaseRetryMs: number;

  /**
   * With several instances on one store, only the holder of the webhook lease delivers; the others
   * ask again every `leaseRetryMs` and take over from the shared cursors when it goes.
   */
  constructor(
    private readonly options: WebhookOptions,
    private readonly store: EventFeed,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly leadership: Leadership = soleLeadership,
  ) {
    this.settings = {
      secret: options.secret,
      retryBaseMs: options.retryBaseMs ?? 1_000,
      maxDelayMs: options.maxDelayMs ?? 5 * 60_000,
      maxAttempts: options.maxAttempts ?? 12,
      timeoutMs: options.timeoutMs ?? 10_000,
      concurrency: options.concurrency ?? 4,
    };
    this.leaseRetryMs = options.leaseRetryMs ?? 5_000;
  }

  /** Whether this instance is the one delivering. */
  get delivering(): boolean {
    return this.lease !== null;
  }

  /** Asks for the lease once; with it, loads (or creates) each URL's cursor and delivers from it. */
  async start(): Promise<void> {
    await this.campaign();
  }

  private async campaign(): Promise<void> {
    this.retry = null;
    if (this.stopped) return;
    let lease: Lease | null = null;
    let workers: UrlWorker[] = [];
    try {
      lease = await this.leadership.tryAcquire(LEASE_NAME);
      if (lease && this.stopped) {
        await lease.release();
        return;
      }
      if (lease) {
        workers = this.options.urls.map((url) => new UrlWorker(url, this.settings, this.store, this.log, this.metrics));
        await Promise.all(workers.map((w) => w.start()));
        this.workers = workers;
        this.lease = lease;
        void lease.lost.then(() => this.lostLease(lease!));
        return;
      }
    } catch (err) {
      this.log.warn({ err }, 'could not start webhook delivery; trying again');
      // Workers whose cursor did load may be delivering already: none may run without the lease.
      await Promise.all(workers.map((w) => w.stop()));
      await lease?.release().catch(() => undefined);
    }
    this.campaignLater();
  }

  private campaignLater(): void {
    if (this.stopped || this.retry !== null) return;
    this.retry = setTimeout(() => void this.campaign(), this.leaseRetryMs);
    this.retry.unref();
  }

  private async lostLease(lease: Lease): Promise<void> {
    if (this.lease !== lease || this.stopped) return;
    this.log.warn('lost the webhook lease (its database connection ended); another instance may deliver now');
    this.lease = null;
    await this.stopWorkers();
    this.campaignLater();
  }

  private async stopWorkers(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.stop()));
  }

  /** A new event was stored (here or on another instance): wake idle workers. */
  readonly notify = (): void => {
    for (const w of this.workers) w.wake();
  };

  /** Stops delivering and gives up the lease; what was not delivered yet is delivered after the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    await this.stopWorkers();
    const lease = this.lease;
    this.lease = null;
    await lease?.release();
  }
}

interface DeliverySettings {
  secret: string;
  retryBaseMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  timeoutMs: number;
  concurrency: number;
}

/** One URL's delivery loop: a window of events read from the store, a cursor written back. */
class UrlWorker {
  private cursor = 0;
  /** Highest position read from the store (delivered, in flight or waiting in `window`). */
  private fetched = 0;
  /** Positions read and not yet passed by the cursor, in order, with whether each is done. */
  private readonly window: { position: number; done: boolean }[] = [];
  private readonly waiting: LoggedEvent[] = [];
  private inFlight = 0;
  private stopped = false;
  private reading = false;
  private savingCursor: Promise<void> = Promise.resolve();
  private readonly sleeps = new Set<() => void>();
  private readonly idle = new Set<() => void>();
  private wakeRequested = false;

  constructor(
    private readonly url: string,
    private readonly settings: DeliverySettings,
    private readonly store: EventFeed,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  async start(): Promise<void> {
    const saved = await this.store.getCursor(cursorName(this.url));
    if (saved === null) {
      this.cursor = await this.store.lastEventPosition();
      await this.store.setCursor(cursorName(this.url), this.cursor);
    } else {
      this.cursor = saved;
    }
    this.fetched = this.cursor;
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.wakeRequested = true;
      return;
    }
    void this.fill();
  }

  /** Waits for requests in flight (at most STOP_WAIT_MS; those cut off are sent again later). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const cancel of [...this.sleeps]) cancel();
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idle.add(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref()),
      ]);
    }
    await this.savingCursor;
  }

  /** Reads more events while the window has room, and starts their deliveries. */
  private async fill(): Promise<void> {
    this.reading = true;
    try {
      do {
        this.wakeRequested = false;
        const room = this.settings.concurrency - this.inFlight - this.waiting.length;
        if (room <= 0) break;
        const batch = await this.store.listEventsAfter(this.fetched, room);
        for (const e of batch) {
          this.fetched = e.position;
          this.window.push({ position: e.position, done: false });
          this.waiting.push(e);
        }
        this.startDeliveries();
        if (batch.length < room) break;
      } while (!this.stopped);
    } catch (err) {
      if (!this.stopped) this.log.error({ err, url: this.url }, 'could not read events for webhooks');
    } finally {
      this.reading = false;
    }
    if (this.wakeRequested && !this.stopped) this.wake();
  }

  private startDeliveries(): void {
    while (!this.stopped && this.waiting.length > 0 && this.inFlight < this.settings.concurrency) {
      const event = this.waiting.shift()!;
      this.inFlight++;
      void this.deliver(event).then((settled) => {
        this.inFlight--;
        if (settled) this.finished(event.position);
        if (this.inFlight === 0) for (const resolve of this.drainIdle()) resolve();
        this.wake();
      });
    }
  }

  private drainIdle(): (() => void)[] {
    const all = [...this.idle];
    this.idle.clear();
    return all;
  }

  /** Marks a delivery done and moves the cursor past every done event at the front of the window. */
  private finished(position: number): void {
    const slot = this.window.find((w) => w.position === position);
    if (slot) slot.done = true;
    let moved = false;
    while (this.window.length > 0 && this.window[0]!.done) {
      this.cursor = this.window.shift()!.position;
      moved = true;
    }
    if (moved) this.saveCursor();
  }

  private saveCursor(): void {
    const position = this.cursor;
    this.savingCursor = this.savingCursor
      .then(() => this.store.setCursor(cursorName(this.url), position))
      .catch((err: unknown) => this.log.error({ err, url: this.url }, 'could not save the webhook cursor'));
  }

  /**
   * Sends one event until a 2xx or a give-up after maxAttempts (true: the cursor may pass it), or until
   * stop (false: it is sent again after the next start). Never rejects.
   */
  private async deliver({ room, event }: LoggedEvent): Promise<boolean> {
    const envelope = toEnvelope(room, event);
    const body = JSON.stringify(envelope);
    for (let attempt = 1; !this.stopped; attempt++) {
      const failure = await this.post(body, `${room}:${envelope.id}`, attempt);
      if (failure === null) return true;
      this.metrics.webhookFailures.inc({ reason: 'delivery_failed' });
      if (attempt >= this.settings.maxAttempts) {
        this.metrics.webhookFailures.inc({ reason: 'abandoned' });
        this.log.error({ url: this.url, room, event: envelope.id, failure }, 'webhook delivery abandoned');
        return true;
      }
      const backoff = Math.min(this.settings.maxDelayMs, this.settings.retryBaseMs * 2 ** (attempt - 1));
      this.log.warn({ url: this.url, room, event: envelope.id, failure, attempt }, 'webhook failed; will retry');
      await this.sleep(backoff / 2 + Math.random() * (backoff / 2));
    }
    return false;
  }

  /** One POST; null when the receiver answered 2xx, else what went wrong. */
  private async post(body: string, eventId: string, attempt: number): Promise<string | null> {
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tandem-webhooks/1',
          'tandem-signature': signWebhook(this.settings.secret, body, timestamp),
          'tandem-event-id': eventId,
          'tandem-delivery-attempt': String(attempt),
        },
        body,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleeps.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.sleeps.add(done);
    });
  }
}
