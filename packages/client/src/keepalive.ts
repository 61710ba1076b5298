/**
 * Dead-socket detection for one connection: `ping()` each interval; a check that finds nothing received
 * since the previous ping, when it runs on time, calls `dead()`. A check that runs late — a background
 * tab whose timers fire once a minute — judges nothing: the silence may be the tab's, not the
 * network's, so it only pings again. Browsers cannot see WebSocket pings, hence a protocol ping.
 */
export class Keepalive {
  private readonly timer: ReturnType<typeof setInterval>;
  private lastReceivedAt = Date.now();
  private lastCheckAt = Date.now();
  /** When the unanswered ping went out; null when none is outstanding. */
  private pingSentAt: number | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly ping: () => void,
    private readonly dead: () => void,
  ) {
    this.timer = setInterval(this.check, intervalMs);
  }

  /** Anything arrived on the socket. */
  received(): void {
    this.lastReceivedAt = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private readonly check = (): void => {
    const now = Date.now();
    const late = now - this.lastCheckAt > this.intervalMs * 2;
    this.lastCheckAt = now;
    if (!late && this.pingSentAt !== null && this.lastReceivedAt < this.pingSentAt) {
      this.stop();
      this.dead();
      return;
    }
    this.ping();
    this.pingSentAt = now;
  };
}
