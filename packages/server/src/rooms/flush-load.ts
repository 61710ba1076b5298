import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** How often the load is sampled. Short enough that a burst is batched within a fraction of a second. */
export const FLUSH_LOAD_SAMPLE_MS = 250;

/** Rooms with this many peers or more use the whole flush window. */
export const FULL_WINDOW_PEERS = 100;

/** Deliveries a second past `batchAbove` at which windows are full: half as many again. */
const FULL_AT_FACTOR = 1.5;

/**
 * Event-loop utilization (busy share of the last sample) from which windows open, and at which they
 * are full, whatever the deliveries: a process saturated by other work (REST, compaction, hooks)
 * sheds the fan-out's frames first.
 */
const ELU_FROM = 0.7;
const ELU_FULL = 0.9;

/**
 * Whether this process's rooms batch, shared by all of them (windowFor scales each room's window
 * by the load's scale). A batch saves frames, and frames are what fan-out costs (one `writev` per peer
 * per frame, about 5 µs of CPU each on the bench machines, mostly the kernel's); but it delays every
 * update in it by up to the window. So a process with headroom flushes every room at the end of the
 * turn, and windows open only under load.
 *
 * The load is the deliveries asked for (each change a room must send, times the room's peers), not
 * the frames written: that stays the same whether or not rooms batch, so opening the windows does not
 * make the load look lower and close them again. Below `batchAbove` deliveries a second (about a fifth
 * of a core of fan-out unbatched) the scale is 0; it grows linearly to 1 at half as many again. A
 * saturated event loop opens the windows too. `batchAbove` 0: always batch (scale 1).
 */
export class FlushLoad {
  /** Deliveries asked for since the last sample; rooms add to it per change (a plain number: hot path). */
  demand = 0;
  private rate = 0;
  private scale: number;
  private sampledAt = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private readonly batchAbove: number;
  private readonly busyShare: () => number;
  private readonly onSample: ((load: FlushLoad) => void) | null;

  constructor(options: FlushLoadOptions) {
    this.batchAbove = options.batchAbove;
    this.busyShare = options.busyShare ?? eventLoopBusyShare();
    this.onSample = options.onSample ?? null;
    this.scale = this.batchAbove === 0 ? 1 : 0;
  }

  /** 0: flush at the end of the turn; 1: each room's full window. */
  get windowScale(): number {
    return this.scale;
  }

  /**
   * How long a busy room of `peers` waits between flushes now. The window grows with the room because
   * a flush costs one write per peer: this caps the CPU a busy room's fan-out can take (about 100
   * frames per window-length, `fullWindowMs` from FULL_WINDOW_PEERS up) while small rooms keep the
   * lowest latency; and it is scaled by the load, so a process with headroom does not wait at all.
   */
  windowFor(peers: number, fullWindowMs: number): number {
    return fullWindowMs * Math.min(1, peers / FULL_WINDOW_PEERS) * this.scale;
  }

  /** Deliveries a second asked for, smoothed over the last samples. */
  get deliveriesPerSecond(): number {
    return this.rate;
  }

  /** Samples every FLUSH_LOAD_SAMPLE_MS until stop(); the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.sampledAt = performance.now();
    this.busyShare();
    this.demand = 0;
    this.timer = setInterval(() => this.sample(), FLUSH_LOAD_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.rate = 0;
    if (this.batchAbove > 0) this.scale = 0;
    this.onSample?.(this);
  }

  /** Reads the load since the last sample (the timer calls it; tests call it directly). */
  sample(now = performance.now()): void {
    const seconds = (now - this.sampledAt) / 1000;
    if (seconds <= 0) return;
    const busy = this.busyShare();
    // Half the weight on the newest sample: a burst counts within one sample, one spike fades in two.
    this.rate = (this.rate + this.demand / seconds) / 2;
    this.demand = 0;
    this.sampledAt = now;
    if (this.batchAbove > 0) {
      const byDeliveries = ramp(this.rate, this.batchAbove, this.batchAbove * FULL_AT_FACTOR);
      this.scale = Math.max(byDeliveries, ramp(busy, ELU_FROM, ELU_FULL));
    }
    this.onSample?.(this);
  }
}

export interface FlushLoadOptions {
  /** Deliveries a second from which windows open (0: always batch). */
  batchAbove: number;
  /** The event loop's busy share (0–1) since the previous call; Node's utilization by default. */
  busyShare?: () => number;
  /** Told after every sample, and once stopped (metrics: the scale it reset to). */
  onSample?: (load: FlushLoad) => void;
}

function eventLoopBusyShare(): () => number {
  let since: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const { utilization } = performance.eventLoopUtilization(since);
    since = performance.eventLoopUtilization();
    return utilization;
  };
}

/** 0 at or below `from`, 1 at or above `full`, linear in between. */
function ramp(value: number, from: number, full: number): number {
  return Math.min(1, Math.max(0, (value - from) / (full - from)));
}
