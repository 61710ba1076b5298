import { encodePublish, type EventEnvelope, type PublishResult, type ReceivedErrorCode } from '@tandem/protocol';

export type EventHandler = (event: EventEnvelope) => void;

/** What RoomEvents needs from its provider. */
export interface EventTransport {
  /** Sends a frame on the live socket; false when there is none. */
  send(frame: Uint8Array): boolean;
  /** `GET …/events?since=` of this room, newest `limit` after `since`. */
  fetchSince(since: number, limit: number): Promise<EventEnvelope[]>;
}

/** An error the server answered a publish with (same codes as the REST API). */
export class PublishError extends Error {
  constructor(
    readonly code: ReceivedErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

interface PendingPublish {
  ref: string;
  frame: Uint8Array;
  resolve: (event: EventEnvelope) => void;
  reject: (err: Error) => void;
}

const CATCH_UP_PAGE = 1000;
const isStored = (e: EventEnvelope): boolean => /^\d+$/.test(e.id);

/**
 * A room's events on the client: every stored event delivered once and in id order across disconnects
 * (live frames deduped by id; after a reconnect, what was missed is read with `?since=` while live ones
 * wait), ephemeral broadcasts passed through, and publishing over the socket. A publish waits for a live
 * socket and is resent after a reconnect with the same idempotency key, so it is stored once.
 */
export class RoomEvents {
  private readonly handlers = new Map<string, Set<EventHandler>>();
  private readonly pending = new Map<string, PendingPublish>();
  /** Highest stored event id delivered; null until the first one. */
  private lastId: number | null = null;
  /** Server time of the first join: with no event seen yet, catch-up starts there. */
  private joinedAt: number | null = null;
  private catchingUp = false;
  private held: EventEnvelope[] = [];
  private nextRef = 1;
  private readonly refPrefix = Math.random().toString(36).slice(2, 10);

  constructor(private readonly transport: EventTransport) {}

  /** `type` or `'*'` for every event; returns an unsubscribe function. */
  on(type: string, handler: EventHandler): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => this.off(type, handler);
  }

  off(type: string, handler: EventHandler): void {
    this.handlers.get(type)?.delete(handler);
  }

  /**
   * Publishes an app event; resolves with the stored event once the server has it. Waits for a live
   * connection if there is none. The idempotency key defaults to a fresh one per call.
   */
  send(type: string, data?: unknown, options: { idempotencyKey?: string } = {}): Promise<EventEnvelope> {
    const ref = `${this.refPrefix}-${this.nextRef++}`;
    const idempotencyKey = options.idempotencyKey ?? ref;
    const frame = encodePublish({ ref, type, ...(data !== undefined ? { data } : {}), idempotencyKey });
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { ref, frame, resolve, reject });
      this.transport.send(frame);
    });
  }

  /** @internal A live connection began (`serverTime` from its status frame). */
  connected(serverTime: number): void {
    for (const p of this.pending.values()) this.transport.send(p.frame);
    if (this.joinedAt === null) {
      this.joinedAt = serverTime;
      return; // the first join: live from here
    }
    void this.catchUp();
  }

  /** @internal An `event` frame arrived. */
  received(event: EventEnvelope): void {
    if (this.catchingUp && isStored(event)) this.held.push(event);
    else this.deliver(event);
  }

  /** @internal A `published` frame arrived. */
  answered(result: PublishResult): void {
    const p = this.pending.get(result.ref);
    if (!p) return;
    this.pending.delete(result.ref);
    if ('event' in result) {
      p.resolve(result.event);
      this.deliver(result.event);
    } else {
      p.reject(new PublishError(result.error.code, result.error.message));
    }
  }

  /** @internal The provider gave up for good: nothing waiting will be sent. */
  failed(reason: string): void {
    for (const p of this.pending.values()) p.reject(new PublishError('failed', reason));
    this.pending.clear();
  }

  private async catchUp(): Promise<void> {
    if (this.catchingUp) return;
    this.catchingUp = true;
    try {
      let since = this.lastId ?? 0;
      for (;;) {
        const page = await this.transport.fetchSince(since, CATCH_UP_PAGE);
        for (const event of page) {
          // Before any event was seen, only those since the first join are this client's to receive.
          if (this.lastId === null && this.joinedAt !== null && event.ts < this.joinedAt) continue;
          this.deliver(event);
        }
        if (page.length < CATCH_UP_PAGE) break;
        since = Number(page.at(-1)!.id);
      }
    } catch {
      // Missed events stay missed until the next reconnect retries from the same id.
    } finally {
      this.catchingUp = false;
      const held = this.held.sort((a, b) => Number(a.id) - Number(b.id));
      this.held = [];
      for (const event of held) this.deliver(event);
    }
  }

  private deliver(event: EventEnvelope): void {
    if (isStored(event)) {
      const id = Number(event.id);
      if (this.lastId !== null && id <= this.lastId) return;
      this.lastId = id;
    }
    for (const type of [event.type, '*']) {
      for (const handler of this.handlers.get(type) ?? []) {
        try {
          handler(event);
        } catch (err) {
          // One app handler's bug must not stop delivery to the others; it surfaces like any uncaught error.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  }
}
