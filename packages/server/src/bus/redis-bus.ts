import { Redis } from 'ioredis';
import type { Logger } from '../ops/logger.js';
import { decodeBusMessage, encodeBusMessage } from './bus-codec.js';
import { newInstanceId, type Bus, type BusMessage } from './bus.js';

export interface RedisBusOptions {
  url: string;
  /** Pub/sub channel shared by the instances of one deployment (default `tandem`). */
  channel?: string;
  logger?: Logger;
  /** Tests: drop the next this many publishes, as a lost message would be. */
  dropNext?: number;
  /**
   * A Redis that does not answer a PING on both connections within this (ms, default 2000) counts as
   * down, although its connections are up: a frozen (SIGSTOP) or partitioned Redis looks like that.
   */
  timeoutMs?: number;
}

/**
 * The bus over Redis pub/sub (ioredis): one connection publishes, one subscribes. Pub/sub keeps
 * nothing, and that is fine here: every update is in the store before it is published, and receivers
 * check their rooms against the store after every reconnect and periodically. While Redis is down,
 * publishes are dropped at once (no offline queue to replay stale presence later).
 */
export class RedisBus implements Bus {
  readonly instanceId = newInstanceId();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly handlers = new Set<(message: BusMessage) => void>();
  private readonly reconnectHandlers = new Set<() => void>();
  private subscribedOnce = false;
  /** The last probe went unanswered past the timeout; cleared when one is answered. */
  private stalled = false;
  private probing = false;
  private readonly probeTimer: NodeJS.Timeout;
  dropNext: number;

  constructor(private readonly options: RedisBusOptions) {
    this.channel = options.channel ?? 'tandem';
    this.dropNext = options.dropNext ?? 0;
    const common = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false } as const;
    this.pub = new Redis(options.url, { ...common, connectionName: `tandem-pub-${this.instanceId}` });
    this.sub = new Redis(options.url, {
      ...common,
      connectionName: `tandem-sub-${this.instanceId}`,
      // The subscription is what must come back: ioredis resubscribes on reconnect.
      autoResubscribe: true,
      enableOfflineQueue: true,
    });
    for (const [name, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('error', (err: Error) =>
        options.logger?.warn({ err: err.message, client: name }, 'Redis connection error'),
      );
    }
    this.sub.on('message', (_channel: string, text: string) => this.onMessage(text));
    this.sub.on('ready', () => {
      if (this.subscribedOnce) {
        options.logger?.info('Redis bus reconnected; catching up from the store');
        for (const handler of this.reconnectHandlers) handler();
      }
    });
    const timeoutMs = options.timeoutMs ?? 2_000;
    this.probeTimer = setInterval(() => this.probe(timeoutMs), Math.max(50, timeoutMs / 2));
    this.probeTimer.unref();
    this.sub.subscribe(this.channel).then(
      () => {
        this.subscribedOnce = true;
      },
      (err: unknown) => options.logger?.warn({ err }, 'Redis subscribe failed; retrying on reconnect'),
    );
  }

  get connected(): boolean {
    return !this.stalled && this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  /**
   * One PING on each connection at a time; one still unanswered after the timeout marks the bus down
   * (receivers then poll the store), and its answer marks it up again, with a catch-up as after a
   * reconnect: whatever was published meanwhile may never arrive.
   */
  private probe(timeoutMs: number): void {
    if (this.probing || this.pub.status !== 'ready' || this.sub.status !== 'ready') return;
    this.probing = true;
    const timer = setTimeout(() => {
      if (this.stalled) return;
      this.stalled = true;
      this.options.logger?.warn({ timeoutMs }, 'Redis bus not answering; rooms catch up from the store');
    }, timeoutMs);
    Promise.all([this.pub.ping(), this.sub.ping()]).then(
      () => {
        clearTimeout(timer);
        this.probing = false;
        if (!this.stalled) return;
        this.stalled = false;
        this.options.logger?.info('Redis bus answering again; catching up from the store');
        for (const handler of this.reconnectHandlers) handler();
      },
      () => {
        // A failed command means a broken connection: ioredis reconnects, and 'ready' catches up.
        clearTimeout(timer);
        this.probing = false;
      },
    );
  }

  publish(message: BusMessage): void {
    if (this.dropNext > 0) {
      this.dropNext--;
      return;
    }
    // Not while stalled either: every publish would wait in memory for a Redis that may never answer.
    if (this.stalled || this.pub.status !== 'ready') return;
    this.pub.publish(this.channel, encodeBusMessage(this.instanceId, message)).catch((err: unknown) => {
      this.options.logger?.debug({ err }, 'Redis publish failed (receivers catch up from the store)');
    });
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  private onMessage(text: string): void {
    const decoded = decodeBusMessage(text);
    if (!decoded || decoded.origin === this.instanceId) return;
    for (const handler of this.handlers) handler(decoded.message);
  }

  async close(): Promise<void> {
    clearInterval(this.probeTimer);
    this.handlers.clear();
    this.reconnectHandlers.clear();
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
