import type { EventEnvelope } from '../events/event-service.js';

/**
 * What instances tell each other. A doorbell, never the only copy: updates are published after their
 * commit and carry their seq, so a receiver that missed one reads it from the store.
 */
export type BusMessage =
  | { kind: 'update'; room: string; seq: number; update: Uint8Array }
  | { kind: 'awareness'; room: string; update: Uint8Array }
  | { kind: 'event'; room: string; event: EventEnvelope }
  /** The room was deleted: close its peers everywhere. */
  | { kind: 'deleted'; room: string }
  /** A collaborator of the room changed: sessions of that user re-check their role. */
  | { kind: 'access'; room: string; user: string };

/** Cross-instance fan-out. `LocalBus` (one instance: nothing to carry), `MemoryBus` (tests), `RedisBus`. */
export interface Bus {
  /** This instance; messages it published itself are not handed back to it. */
  readonly instanceId: string;
  /** Whether messages are flowing now (false: Redis is down or not answering; instances poll the store). */
  readonly connected: boolean;
  /** Fire and forget: a message lost here is found by the receivers' checks against the store. */
  publish(message: BusMessage): void;
  subscribe(handler: (message: BusMessage) => void): () => void;
  /** After the connection came back: anything published meanwhile may be lost, so catch up. */
  onReconnect(handler: () => void): () => void;
  close(): Promise<void>;
}

export function newInstanceId(): string {
  return `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** One instance alone: nothing to tell anyone. */
export class LocalBus implements Bus {
  readonly instanceId = newInstanceId();
  readonly connected = true;
  publish(): void {}
  subscribe(): () => void {
    return () => undefined;
  }
  onReconnect(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}
