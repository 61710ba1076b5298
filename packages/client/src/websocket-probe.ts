import type { WebSocketLike } from './websocket-like.js';

export interface ProbeOptions {
  /** First wait before a try, doubling per failed one (jittered: half of it fixed, half random). */
  probeBaseMs: number;
  probeMaxMs: number;
  random?: () => number;
}

/** What a probe needs from the connection it may replace. */
export interface ProbeHost {
  /** Whether a try makes sense now (still on HTTP, joined, wanted). */
  wanted(): boolean;
  /** A fresh WebSocket to the room. */
  open(): WebSocketLike;
  /** The probe's socket spoke first with `data`: the connection takes it over (or closes it). */
  spoke(ws: WebSocketLike, data: unknown): void;
}

/**
 * While a connection is on the HTTP fallback, tries WebSocket again now and then, with backoff; the
 * first try on which the server speaks is handed over. Only one that speaks: it says nothing before
 * the join, and a proxy that accepts upgrades and then cuts them must not pull the connection off a
 * working HTTP session.
 */
export class WebSocketProbe {
  private socket: WebSocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;

  constructor(
    private readonly options: ProbeOptions,
    private readonly host: ProbeHost,
  ) {}

  /** Plans the next try, unless one is planned or running. */
  schedule(): void {
    if (this.timer || this.socket) return;
    const { probeBaseMs, probeMaxMs } = this.options;
    const step = Math.min(probeMaxMs, probeBaseMs * 2 ** this.failures);
    const random = this.options.random ?? Math.random;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.run();
      },
      step / 2 + (random() * step) / 2,
    );
  }

  /** Cancels a planned try, closes a running one, and starts the backoff over. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'not needed');
    this.failures = 0;
  }

  private run(): void {
    if (!this.host.wanted()) return;
    const socket = this.host.open();
    this.socket = socket;
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.failures++;
      this.schedule();
    };
    socket.onopen = () => undefined;
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.failures = 0;
      this.host.spoke(socket, event.data);
    };
  }
}
