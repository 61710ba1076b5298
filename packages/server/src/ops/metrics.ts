import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics for one server. Each server gets its own registry, so several servers in one
 * process (tests) do not mix their numbers.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({
    name: 'tandem_connections',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  readonly httpSessions = new Gauge({
    name: 'tandem_http_sessions',
    help: 'Open HTTP fallback sessions (stream or polling)',
    registers: [this.registry],
  });
  /** Bytes HTTP sessions hold until their clients confirm them; kept as a number, read at scrape. */
  httpBufferedBytesNow = 0;
  readonly httpBufferedBytes: Gauge = new Gauge({
    name: 'tandem_http_buffered_bytes',
    help: 'Bytes of messages HTTP fallback sessions hold until their clients confirm them (each bounded by --max-buffered-bytes)',
    registers: [this.registry],
    collect: () => {
      this.httpBufferedBytes.set(this.httpBufferedBytesNow);
    },
  });
  readonly roomsLoaded = new Gauge({
    name: 'tandem_rooms_loaded',
    help: 'Rooms loaded in memory',
    registers: [this.registry],
  });
  readonly roomsWithDocument = new Gauge({
    name: 'tandem_rooms_with_document',
    help: 'Loaded rooms holding a materialised Y.Doc (for REST, revisions or hooks) rather than binary state',
    registers: [this.registry],
  });
  readonly busConnected = new Gauge({
    name: 'tandem_bus_connected',
    help: 'Whether the bus to other instances delivers (1), or is down or not answering (0: rooms poll the store); absent with one instance',
    registers: [this.registry],
  });
  readonly flushWindowScale = new Gauge({
    name: 'tandem_flush_window_scale',
    help: 'How far busy rooms batch (0: every room flushes at the end of the turn; 1: full windows), from the process load',
    registers: [this.registry],
  });
  /**
   * Received messages and bytes since the last scrape: counted per message as plain numbers (a labelled
   * prom-client counter hashes its labels on every inc), folded into the counters when they are read.
   */
  private readonly messagesInPending = new Map<string, number>();
  private bytesInPending = 0;
  readonly messagesIn = new Counter({
    name: 'tandem_messages_in_total',
    help: 'Messages received from clients, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [type, count] of this.messagesInPending) this.messagesIn.inc({ type }, count);
      this.messagesInPending.clear();
    },
  });
  readonly bytesIn = new Counter({
    name: 'tandem_bytes_in_total',
    help: 'Bytes received from clients',
    registers: [this.registry],
    collect: () => {
      this.bytesIn.inc(this.bytesInPending);
      this.bytesInPending = 0;
    },
  });

  /** A received frame of `bytes`, counted before it is decoded (the socket and HTTP paths' hot path). */
  countBytesIn(bytes: number): void {
    this.bytesInPending += bytes;
  }

  /** A received message that decoded as `type`. */
  countMessageIn(type: string): void {
    this.messagesInPending.set(type, (this.messagesInPending.get(type) ?? 0) + 1);
  }

  /**
   * Frames sent since the last scrape. One per peer per frame is the hottest counter there is, so it
   * is a plain number, folded into tandem_frames_out_total when the registry is read.
   */
  framesOutPending = 0;
  readonly framesOut = new Counter({
    name: 'tandem_frames_out_total',
    help: 'Frames sent to clients (one batch frame to N peers counts N)',
    registers: [this.registry],
    collect: () => {
      this.framesOut.inc(this.framesOutPending);
      this.framesOutPending = 0;
    },
  });
  readonly refusals = new Counter({
    name: 'tandem_refusals_total',
    help: 'Connections closed or requests refused, by error code',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly readOnlyDrops = new Counter({
    name: 'tandem_readonly_updates_dropped_total',
    help: 'Document updates from read-only peers that were dropped',
    registers: [this.registry],
  });
  readonly awarenessThrottled = new Counter({
    name: 'tandem_awareness_throttled_total',
    help: 'Awareness messages delayed or superseded by the per-connection throttle',
    registers: [this.registry],
  });
  readonly presenceDrops = new Counter({
    name: 'tandem_presence_dropped_total',
    help: 'Presence updates dropped because the room held its maximum of presence bytes',
    registers: [this.registry],
  });
  readonly roomResets = new Counter({
    name: 'tandem_room_resets_total',
    help: 'Rooms dropped from memory after a flush failed (their peers resync from the store)',
    registers: [this.registry],
  });
  readonly storeCommitFailures = new Counter({
    name: 'tandem_store_commit_failures_total',
    help: 'Store commits that failed and were retried',
    registers: [this.registry],
  });
  readonly storeCommitSeconds = new Histogram({
    name: 'tandem_store_commit_seconds',
    help: 'Time from handing a batch to the store until it is durable',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  readonly webhookFailures = new Counter({
    name: 'tandem_webhook_failures_total',
    help: 'Webhook deliveries that failed (and were retried) or were dropped',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly ackSeconds = new Histogram({
    name: 'tandem_ack_seconds',
    help: 'Time from receiving a client update until its ack is sent (it is durable then)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) {
      // The event-loop lag histogram wakes the loop once per sample. prom-client's default (every
      // 10 ms) was most of an idle server's CPU (17 ms/s); every 100 ms still gives 600 samples a minute.
      collectDefaultMetrics({ register: this.registry, prefix: 'tandem_', eventLoopMonitoringPrecision: 100 });
    }
  }
}
