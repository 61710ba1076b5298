import { newInstanceId, type Bus, type BusMessage } from './bus.js';

/** Instances in one process sharing a hub: the bus for tests of several servers without Redis. */
export class MemoryBusHub {
  private readonly members = new Set<MemoryBus>();
  /** Drop the next this many messages (a lost publish). */
  dropNext = 0;
  /** Like a Redis outage: every member reports disconnected and nothing is delivered. */
  down = false;
  /** Like a frozen Redis (SIGSTOP): members still report connected; messages wait until thaw(). */
  private held: { from: MemoryBus; message: BusMessage }[] | null = null;

  freeze(): void {
    this.held ??= [];
  }

  /** Delivers what was held while frozen, in order, as a resumed Redis would. */
  thaw(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const { from, message } of held) this.deliver(from, message);
  }

  connect(): MemoryBus {
    const bus = new MemoryBus(this);
    this.members.add(bus);
    return bus;
  }

  /** @internal */
  deliver(from: MemoryBus, message: BusMessage): void {
    if (this.dropNext > 0) {
      this.dropNext--;
      return;
    }
    if (this.down) return;
    if (this.held) {
      this.held.push({ from, message });
      return;
    }
    for (const member of this.members) if (member !== from) member.receive(message);
  }

  /** @internal */
  leave(bus: MemoryBus): void {
    this.members.delete(bus);
  }
}

export class MemoryBus implements Bus {
  readonly instanceId = newInstanceId();
  private readonly handlers = new Set<(message: BusMessage) => void>();

  constructor(private readonly hub: MemoryBusHub) {}

  get connected(): boolean {
    return !this.hub.down;
  }

  publish(message: BusMessage): void {
    // Asynchronous like a real bus, so no instance handles another's message inside its own call.
    queueMicrotask(() => this.hub.deliver(this, message));
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  onReconnect(): () => void {
    return () => undefined;
  }

  /** @internal */
  receive(message: BusMessage): void {
    for (const handler of this.handlers) handler(message);
  }

  async close(): Promise<void> {
    this.hub.leave(this);
  }
}
