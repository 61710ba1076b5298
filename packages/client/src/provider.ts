import {
  decodeMessage,
  isValidRoomName,
  ProtocolError,
  ROOM_NAME_RULE,
  encodeAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type EventEnvelope,
  type Message,
} from '@tandem/protocol';
import { ObservableV2 } from 'lib0/observable';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { listenToBrowser } from './browser-hooks.js';
import { Connection, type ConnectionStatus, type Transport } from './connection.js';
import { Presence } from './presence.js';
import {
  defaultFallbackOptions,
  type Diagnostics,
  type ProviderError,
  type TandemProviderEvents,
  type TandemProviderOptions,
} from './provider-options.js';
import { defaultReconnectOptions } from './reconnect-policy.js';
import { RoomEvents } from './room-events.js';
import { SaveTracker, type SaveState } from './save-tracker.js';
import type { WebSocketConstructor, WebSocketLike } from './websocket-like.js';

export type { ConnectionStatus, FallbackOptions, TokenSource, Transport } from './connection.js';
export {
  defaultFallbackOptions,
  type ClientErrorCode,
  type Diagnostics,
  type ProviderError,
  type TandemProviderEvents,
  type TandemProviderOptions,
} from './provider-options.js';

/**
 * A Yjs provider for Tandem, close in shape to y-websocket's `WebsocketProvider`, that also knows
 * whether work is saved: it opts in to the Tandem extensions and reports `saved` only from the server's
 * durable acks. Its Connection carries it (transport, status, reconnects, the HTTP fallback, token
 * refresh); the provider keeps what goes over it: Yjs sync, presence, acks and save state, events.
 * Edits made while disconnected are kept and sent on reconnect.
 */
export class TandemProvider extends ObservableV2<TandemProviderEvents> {
  readonly doc: Y.Doc | null;
  readonly awareness: awarenessProtocol.Awareness;
  readonly room: string;
  /** The room's events: `events.on(type | '*', fn)`, `events.send(type, data)`. */
  readonly events: RoomEvents;
  /** Who is here: `presence.setUser({ id, name })`, `presence.others()`, `presence.update({ cursor })`. */
  readonly presence: Presence;
  private readonly options: TandemProviderOptions;
  private readonly connection: Connection;
  private readonly tracker = new SaveTracker();
  private readonly ownsAwareness: boolean;
  private destroyed = false;
  /** The state vector the server opened this connection with: what a later step 2 is diffed against. */
  private serverStateVector: Uint8Array | null = null;
  private synced_ = false;
  private readOnly_ = false;
  private lastError: ProviderError | null = null;
  private lastAckMs: number | null = null;
  private oldestUnackedAt: number | null = null;
  private readonly removeWindowListeners: () => void;

  constructor(options: TandemProviderOptions) {
    super();
    this.options = options;
    this.room = options.room;
    this.doc = options.doc ?? null;
    const WebSocketImpl = options.WebSocketPolyfill ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketImpl) throw new Error('no WebSocket available: pass WebSocketPolyfill (e.g. the ws package)');
    this.ownsAwareness = options.awareness === undefined;
    this.awareness = options.awareness ?? new awarenessProtocol.Awareness(this.doc ?? new Y.Doc());
    this.presence = new Presence(this.awareness);
    this.connection = new Connection(
      {
        url: options.url,
        room: options.room,
        token: options.token,
        params: options.params,
        httpUrl: options.httpUrl,
        WebSocketImpl,
        reconnect: { ...defaultReconnectOptions, ...options.reconnect },
        fallback: { ...defaultFallbackOptions, ...options.fallback },
        random: options.random,
        pingIntervalMs: options.pingIntervalMs,
        handshakeTimeoutMs: options.handshakeTimeoutMs,
        fetch: options.fetch,
      },
      {
        opened: (socket) => this.startSync(socket),
        received: (socket, data) => this.onMessage(socket, data),
        ended: (replaced) => this.connectionEnded(replaced),
        statusChanged: (status) => this.emit('status', [status]),
        transportChanged: (transport) => this.emit('transport', [transport]),
        failed: (reason) => this.events.failed(reason),
        error: (error) => {
          this.lastError = error;
          this.emit('error', [error]);
        },
        changed: () => this.emitSave(),
      },
    );
    this.events = new RoomEvents({
      send: (frame) => this.connection.canSend && this.connection.send(frame),
      fetchSince: (since, limit) => this.fetchEvents(since, limit),
    });
    this.doc?.on('update', this.onDocUpdate);
    if (options.localPersistence) {
      this.tracker.hold();
      const release = (): void => {
        this.tracker.release();
        this.sendLocalState();
        this.emitSave();
      };
      options.localPersistence.whenSynced.then(release, release);
    }
    this.awareness.on('update', this.onAwarenessUpdate);
    this.removeWindowListeners = listenToBrowser({
      retryNow: () => this.retryNow(),
      offline: () => this.connection.browserWentOffline(),
      leaving: () => awarenessProtocol.removeAwarenessStates(this.awareness, [this.awareness.clientID], 'pagehide'),
      shouldWarnBeforeUnload: () => this.options.warnBeforeUnload === true && this.tracker.pendingUpdates > 0,
    });
    if (options.connect !== false) this.connect();
  }

  get status(): ConnectionStatus {
    return this.connection.status;
  }

  get saveState(): SaveState {
    if (this.readOnly_) return 'read-only';
    return this.tracker.state(this.connection.joined, this.connection.everConnected);
  }

  get pendingUpdates(): number {
    return this.tracker.pendingUpdates;
  }

  get lastSavedAt(): number | null {
    return this.tracker.lastSavedAt;
  }

  /** What carries the connection (the last one, while disconnected). */
  get transport(): Transport {
    return this.connection.transport;
  }

  /** True while the HTTP fallback polls because its event stream is buffered on this network. */
  get polling(): boolean {
    return this.connection.transport === 'http-polling';
  }

  get synced(): boolean {
    return this.synced_;
  }

  /** Whether the server treats this client as a viewer (its edits are not saved). */
  get readOnly(): boolean {
    return this.readOnly_;
  }

  /** Resolves once the document has synced with the server (at once if it has). */
  whenSynced(): Promise<void> {
    if (this.synced_) return Promise.resolve();
    return new Promise((resolve) => {
      const on = (synced: boolean): void => {
        if (!synced) return;
        this.off('synced', on);
        resolve();
      };
      this.on('synced', on);
    });
  }

  /** Resolves once every local change so far is durable on the server (at once if it is). */
  whenSaved(): Promise<void> {
    if (this.tracker.pendingUpdates === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const on = ({ pendingUpdates }: { pendingUpdates: number }): void => {
        if (pendingUpdates > 0) return;
        this.off('save', on);
        resolve();
      };
      this.on('save', on);
    });
  }

  getDiagnostics(): Diagnostics {
    return {
      status: this.connection.status,
      transport: this.connection.transport,
      websocketFailures: this.connection.websocketFailures,
      reconnects: this.connection.reconnects,
      lastClose: this.connection.lastClose,
      lastError: this.lastError,
      lastAckMs: this.lastAckMs,
      pendingUpdates: this.tracker.pendingUpdates,
    };
  }

  connect(): void {
    if (this.destroyed) return;
    // The server's own rule: a name it would refuse (or a URL would normalise, as `a/../b` into `b`)
    // fails here, for good, instead of retrying forever over every transport.
    if (!isValidRoomName(this.room)) {
      const error: ProviderError = { code: 'invalid_room_name', message: `"${this.room}": ${ROOM_NAME_RULE}` };
      this.lastError = error;
      // After the constructor returns, so listeners attached right after it hear it.
      queueMicrotask(() => {
        this.connection.refuse();
        this.emit('error', [error]);
      });
      return;
    }
    this.connection.connect();
  }

  /** Closes the socket and stops reconnecting; local edits stay pending until the next connect(). */
  disconnect(): void {
    this.connection.disconnect();
  }

  /**
   * Retries at once instead of waiting out the backoff (a dev server that came back, a "retry" button).
   * Does nothing while connected or connecting, or after `failed` (call `connect()` then).
   */
  retryNow(): void {
    this.connection.retryNow();
  }

  override destroy(): void {
    if (this.destroyed) return;
    this.connection.destroy();
    this.destroyed = true;
    this.removeWindowListeners();
    this.doc?.off('update', this.onDocUpdate);
    this.awareness.off('update', this.onAwarenessUpdate);
    if (this.ownsAwareness) this.awareness.destroy();
    super.destroy();
  }

  /** REST catch-up for RoomEvents, authenticated like the socket. */
  private async fetchEvents(since: number, limit: number): Promise<EventEnvelope[]> {
    const base = this.connection.httpBase();
    const params = new URLSearchParams(this.options.params ?? {});
    params.set('since', String(since));
    params.set('limit', String(limit));
    const headers: Record<string, string> = this.connection.token
      ? { authorization: `Bearer ${this.connection.token}` }
      : {};
    const res = await (this.options.fetch ?? fetch)(
      `${base}/v1/rooms/${encodeURIComponent(this.room)}/events?${params}`,
      { headers },
    );
    if (!res.ok) throw new Error(`event catch-up answered ${res.status}`);
    return ((await res.json()) as { events: EventEnvelope[] }).events;
  }

  /** A connection opened: ask for what we lack, and say who we are. */
  private startSync(socket: WebSocketLike): void {
    if (this.doc) socket.send(encodeSyncStep1(Y.encodeStateVector(this.doc)));
    if (this.awareness.getLocalState() !== null) {
      socket.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.awareness.clientID])));
    }
  }

  private onMessage(socket: WebSocketLike, data: unknown): void {
    let message: Message;
    try {
      message = decodeMessage(new Uint8Array(data as ArrayBuffer));
    } catch (err) {
      // A newer server's message this client does not know is skipped; anything else is malformed.
      const code = err instanceof ProtocolError ? err.code : null;
      if (code === 'unknown_message_type' || code === 'unknown_sync_type') return;
      this.malformed(socket, `malformed frame: ${String(err)}`);
      return;
    }
    try {
      this.handle(socket, message);
    } catch (err) {
      // A frame that decodes but whose content does not (a corrupt update, state vector or awareness).
      this.malformed(socket, `malformed ${message.type} frame: ${String(err)}`);
    }
  }

  /**
   * A broken or hostile server's frame must never escape into the app's process: the connection is
   * dropped with a protocol error (1002) and retried like a lost one (4000), not given up on as a
   * server's own 1002 would be — the next attempt may reach a healthy instance.
   */
  private malformed(socket: WebSocketLike, message: string): void {
    this.lastError = { code: 'invalid_message', message };
    this.emit('error', [this.lastError]);
    this.connection.drop(socket, 'malformed frame', 1002);
  }

  private handle(ws: WebSocketLike, message: Message): void {
    switch (message.type) {
      case 'status': {
        this.readOnly_ = message.status.readOnly;
        if (this.readOnly_) this.refuseLocalChanges(this.tracker.discard());
        if (this.connection.markJoined()) this.events.connected(message.status.serverTime);
        return;
      }
      case 'sync-step1':
        if (!this.doc) return;
        this.serverStateVector = message.stateVector.slice();
        this.connection.markJoined();
        ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, message.stateVector)));
        this.tracker.sentState();
        this.noteSent();
        this.emitSave();
        return;
      case 'sync-step2':
      case 'sync-update':
        if (!this.doc) return;
        Y.applyUpdate(this.doc, message.update, this);
        if (message.type === 'sync-step2' && !this.synced_) {
          this.synced_ = true;
          this.connection.markSynced();
          this.emit('synced', [true]);
        }
        return;
      case 'awareness':
        awarenessProtocol.applyAwarenessUpdate(this.awareness, message.update, this);
        this.capPresence();
        return;
      case 'ack':
        if (this.tracker.acked(message.seq)) {
          if (this.oldestUnackedAt !== null) this.lastAckMs = Date.now() - this.oldestUnackedAt;
          this.oldestUnackedAt = this.tracker.pendingUpdates > 0 ? Date.now() : null;
          this.emitSave();
        }
        return;
      case 'event':
        this.events.received(message.event);
        return;
      case 'published':
        this.events.answered(message.published);
        return;
      case 'error':
        this.lastError = { code: message.code, message: message.message };
        this.emit('error', [this.lastError]);
        return;
      case 'pong':
        return;
      case 'auth-denied':
        this.lastError = { code: 'permission_denied', message: message.reason };
        this.emit('error', [this.lastError]);
        return;
      default:
        return;
    }
  }

  /** Local changes a read-only client cannot save: told once per connection, as error `read_only`. */
  private refuseLocalChanges(count: number): void {
    this.emitSave();
    if (count === 0 || this.lastError?.code === 'read_only') return;
    this.lastError = {
      code: 'read_only',
      message: 'this client may only read the room: local changes stay in this document and are not saved',
    };
    this.emit('error', [this.lastError]);
  }

  /**
   * Presence states a server can make this client hold: a broken or hostile server could otherwise
   * fill memory with made-up clients. Past the cap, the newest states are dropped.
   */
  private capPresence(): void {
    const max = this.options.maxPresenceStates ?? 10_000;
    const states = this.awareness.getStates();
    if (states.size <= max) return;
    const excess = [...states.keys()].filter((id) => id !== this.awareness.clientID).slice(max - 1);
    // Dropped here only (origin: this provider, so onAwarenessUpdate does not send the removals): the
    // server keeps them, and one of them may be another tab's of this very user.
    awarenessProtocol.removeAwarenessStates(this.awareness, excess, this);
    if (this.lastError?.code !== 'presence_limit') {
      this.lastError = { code: 'presence_limit', message: `more than ${max} presence states; the newest were dropped` };
      this.emit('error', [this.lastError]);
    }
  }

  /**
   * What ends with any connection, whether it closed or is being replaced by a better transport. A
   * replacement keeps the others' presence: the new connection re-sends it, and dropping it meanwhile
   * would flicker everyone out and back in.
   */
  private connectionEnded(replaced: boolean): void {
    this.tracker.disconnected();
    this.oldestUnackedAt = this.tracker.pendingUpdates > 0 ? Date.now() : null;
    if (this.synced_) {
      this.synced_ = false;
      this.emit('synced', [false]);
    }
    if (replaced) return;
    // Others' presence is unknown until the next connection tells it again.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.awareness.clientID);
    awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
  }

  /**
   * Sends what the server lacks of the whole document as a numbered sync step 2 (after local persistence
   * loaded); without a joined connection, the next connection's step 2 does the same.
   */
  private sendLocalState(): void {
    if (!this.doc || !this.connection.canSend) return;
    this.connection.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, this.serverStateVector ?? undefined)));
    this.tracker.sentState();
    this.noteSent();
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return;
    if (this.readOnly_) {
      // The server would drop it: not sent, not waited for, and said once.
      this.refuseLocalChanges(1);
      return;
    }
    this.tracker.changed();
    this.oldestUnackedAt ??= Date.now();
    if (this.connection.send(encodeSyncUpdate(update))) this.tracker.sentUpdate();
    this.emitSave();
  };

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this) return;
    if (!this.connection.isOpen) return;
    const changed = [...added, ...updated, ...removed];
    this.connection.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed)));
  };

  private noteSent(): void {
    if (this.tracker.pendingUpdates > 0) this.oldestUnackedAt ??= Date.now();
  }

  private emitSave(): void {
    this.emit('save', [{ state: this.saveState, pendingUpdates: this.tracker.pendingUpdates }]);
  }
}
