/**
 * What stops when, after a drain has made every write durable and closed every peer. Phases run in
 * this order; within one, the services stop in the reverse of the order they registered (the last
 * created, which may use the earlier ones, stops first):
 * - `services`: the endpoints and services that use rooms (sockets, HTTP sessions, events, revisions,
 *   extensions);
 * - `rooms`: the loaded rooms themselves;
 * - `http`: open event streams, then the HTTP server;
 * - `background`: webhook delivery and the bus to other instances;
 * - `storage`: the store, last, so everything before it could still write.
 */
export type ShutdownPhase = 'services' | 'rooms' | 'http' | 'background' | 'storage';

const PHASES: readonly ShutdownPhase[] = ['services', 'rooms', 'http', 'background', 'storage'];

/** Each service registers its own teardown where it is created, as Fastify's onClose hooks do. */
export class Shutdown {
  private readonly steps = new Map<ShutdownPhase, (() => unknown)[]>();

  onClose(phase: ShutdownPhase, stop: () => unknown): void {
    const list = this.steps.get(phase) ?? [];
    list.push(stop);
    this.steps.set(phase, list);
  }

  /** Runs every registered teardown once, phase by phase. */
  async run(): Promise<void> {
    for (const phase of PHASES) {
      const list = this.steps.get(phase) ?? [];
      this.steps.delete(phase);
      for (const stop of list.reverse()) await stop();
    }
  }
}
