import { checkAppEvent } from './event-rules.js';
import { encodeEvent, type EventEnvelope } from '@tandem/protocol';
import type { Logger } from '../ops/logger.js';
import { Signal } from '../signal.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { EventLog, RoomListing, StoredEvent } from '../storage/store.js';
import { TandemError } from '../errors.js';

export type { EventEnvelope };
export type EventListener = (event: EventEnvelope) => void;

export interface EventServiceOptions {
  /** `collab.room_updated` at most this often per room. */
  roomUpdatedDebounceMs: number;
  /** Events kept per room (0 = all). */
  retention: number;
  /** The extensions' beforeEvent: every app event passes it before it is sent. */
  screenAppEvent?: (room: string, event: AppEvent) => Promise<AppEvent>;
}

export interface AppEvent {
  type: string;
  user: string | null;
  data: unknown;
}

export interface PublishRequest {
  type: string;
  user: string | null;
  data: unknown;
  idempotencyKey?: string;
}

/** Whether a stored event is what `request` asks to publish (a retry rather than a new event). */
function sameEvent(stored: StoredEvent, request: PublishRequest): boolean {
  return (
    stored.type === request.type &&
    stored.user === request.user &&
    JSON.stringify(stored.data) === JSON.stringify(request.data ?? null)
  );
}

export const toEnvelope = (room: string, e: StoredEvent): EventEnvelope => ({
  id: String(e.id),
  type: e.type,
  room,
  ts: e.ts,
  user: e.user,
  data: e.data,
});

/**
 * The one path every event takes: persisted first (so `since` polling and SSE resume see it), then
 * fanned out to Tandem socket peers, SSE streams and webhooks. Server events (`collab.*`) use it too.
 */
export class EventService {
  private readonly listeners = new Set<EventListener>();
  /** Listeners that also want events stored by other instances (SSE streams). */
  private readonly remoteListeners = new Set<EventListener>();
  private readonly debounced = new Map<string, NodeJS.Timeout>();
  private ephemeralCounter = 0;
  private closed = false;

  constructor(
    private readonly store: EventLog & RoomListing,
    private readonly registry: RoomRegistry,
    private readonly log: Logger,
    private readonly options: EventServiceOptions,
  ) {}

  /** Each event stored here, after it was sent to this instance's listeners (the bus takes it on). */
  readonly storedHere = new Signal<[event: EventEnvelope]>();

  /**
   * An event another instance stored: sent to this instance's Tandem peers. Not to this instance's
   * listeners (webhooks and hooks run where the event was published).
   */
  deliverRemote(event: EventEnvelope): void {
    this.fanOut(event, false);
    this.notify(this.remoteListeners, event);
  }

  /**
   * An app event as the extensions want it published (transformed, or refused with their error); what
   * they return must still be a valid app event.
   */
  async screen(room: string, event: AppEvent): Promise<AppEvent> {
    if (!this.options.screenAppEvent) return event;
    const screened = await this.options.screenAppEvent(room, event);
    checkAppEvent(screened.type, screened.data);
    return screened;
  }

  /**
   * Every event stored here; with `includeRemote`, also those other instances stored (for readers such
   * as SSE streams; webhooks and hooks run where the event was stored, so they leave it off).
   */
  subscribe(listener: EventListener, options: { includeRemote?: boolean } = {}): () => void {
    this.listeners.add(listener);
    if (options.includeRemote) this.remoteListeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.remoteListeners.delete(listener);
    };
  }

  /**
   * Stores and fans out an event. An idempotency key is scoped to the user who sent it (another user's
   * identical key is a different event), and reusing one with a different event is refused.
   */
  async publish(room: string, request: PublishRequest): Promise<{ event: EventEnvelope; duplicate: boolean }> {
    const { idempotencyKey } = request;
    const { event, duplicate } = await this.store.appendEvent(room, {
      ...request,
      ...(idempotencyKey !== undefined ? { idempotencyKey: JSON.stringify([request.user, idempotencyKey]) } : {}),
    });
    if (duplicate && !sameEvent(event, request)) {
      throw new TandemError(
        'idempotency_key_reused',
        'this Idempotency-Key was already used for a different event; use a new key for a new event',
      );
    }
    const envelope = toEnvelope(room, event);
    if (!duplicate) {
      this.fanOut(envelope, true);
      this.storedHere.emit(envelope);
      this.pruneIfDue(room, event.id);
    }
    return { event: envelope, duplicate };
  }

  /**
   * Retention: every tenth of the retention count, the room is cut back to its newest `retention`
   * events, so a room holds at most 110% of it and pruning costs one delete per many appends.
   */
  private pruneIfDue(room: string, id: number): void {
    const keep = this.options.retention;
    if (keep === 0 || id <= keep || id % Math.max(1, Math.ceil(keep / 10)) !== 0) return;
    this.store.pruneEvents(room, keep).catch((err: unknown) => {
      this.log.warn({ err, room }, 'could not prune old events');
    });
  }

  /** Sent to connected Tandem peers only; not stored, not streamed, no webhook. */
  broadcast(room: string, request: Omit<PublishRequest, 'idempotencyKey'>): EventEnvelope {
    const envelope: EventEnvelope = {
      id: `ephemeral-${++this.ephemeralCounter}`,
      type: request.type,
      room,
      ts: Date.now(),
      user: request.user,
      data: request.data,
    };
    this.fanOut(envelope, false);
    return envelope;
  }

  /** Server events never fail their caller: a failure to record one is logged. */
  emitServerEvent(room: string, type: string, user: string | null, data: unknown = null): void {
    if (this.closed) return;
    this.publish(room, { type, user, data }).catch((err: unknown) => {
      this.log.warn({ err, room, type }, 'could not record server event');
    });
  }

  /**
   * Join and leave events: recorded only for a room that exists in the store. Opening a room and
   * reading it must not create it (a stream of read-only visits would otherwise fill the store).
   */
  emitPresenceEvent(room: string, type: string, user: string | null, data: unknown): void {
    if (this.closed) return;
    this.store.getRoomInfo(room).then(
      (info) => {
        if (info) this.emitServerEvent(room, type, user, data);
      },
      (err: unknown) => this.log.warn({ err, room, type }, 'could not record server event'),
    );
  }

  /** `collab.room_updated`, at most once per debounce window per room (trailing). */
  roomChanged(room: string): void {
    if (this.closed || this.debounced.has(room)) return;
    const timer = setTimeout(() => {
      this.debounced.delete(room);
      this.emitServerEvent(room, 'collab.room_updated', null);
    }, this.options.roomUpdatedDebounceMs);
    timer.unref();
    this.debounced.set(room, timer);
  }

  /** Cancels pending server events of a room that is being deleted. */
  forget(room: string): void {
    const timer = this.debounced.get(room);
    if (timer) clearTimeout(timer);
    this.debounced.delete(room);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.debounced.values()) clearTimeout(timer);
    this.debounced.clear();
  }

  private fanOut(envelope: EventEnvelope, toListeners: boolean): void {
    this.registry.get(envelope.room)?.broadcastToTandemPeers(encodeEvent(envelope));
    if (toListeners) this.notify(this.listeners, envelope);
  }

  private notify(listeners: Set<EventListener>, envelope: EventEnvelope): void {
    for (const listener of listeners) {
      try {
        listener(envelope);
      } catch (err) {
        this.log.error({ err }, 'event listener failed');
      }
    }
  }
}
