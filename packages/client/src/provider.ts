import {
  decodeMessage,
  encodeAwareness,
  encodePing,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  encodeToken,
  TANDEM_SUBPROTOCOL,
  type EventEnvelope,
  type Message,
} from '@tandem/protocol';
import { ObservableV2 } from 'lib0/observable';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { defaultReconnectOptions, ReconnectPolicy, type ReconnectOptions } from './reconnect-policy.js';
import { browserOffline, listenToBrowser } from './browser-hooks.js';
import { Keepalive } from './keepalive.js';
import { Presence } from './presence.js';
import { RoomEvents } from './room-events.js';
import { SaveTracker, type SaveState } from './save-tracker.js';
import { tokenExpiry } from './token-expiry.js';

/**
 * `fallback` is reserved for the HTTP transport (not built yet); the machine already has its place.
 * See docs/client.md for the transitions.
 */
export type ConnectionStatus = 'connecting' | 'live' | 'fallback' | 'reconnecting' | 'offline' | 'failed';

/** A token, or a function asked for one on every connect and before the current one expires. */
export type TokenSource = string | (() => string | Promise<string>);

/** The browser WebSocket API (Node's `ws` package implements it too). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface TandemProviderOptions {
  /** The sync endpoint, e.g. `ws://localhost:1234/v1/sync`; the room is appended as a path segment. */
  url: string;
  room: string;
  /** The document to sync; omit it (or pass null) for an events-and-presence room. */
  doc?: Y.Doc | null;
  token?: TokenSource;
  awareness?: awarenessProtocol.Awareness;
  /** Extra query parameters. */
  params?: Record<string, string>;
  /** Connect at once (default true). */
  connect?: boolean;
  /** For Node (the `ws` package) or tests; defaults to the global WebSocket. */
  WebSocketPolyfill?: WebSocketConstructor;
  reconnect?: Partial<ReconnectOptions>;
  /** Ask before closing the tab while changes are not saved (browsers only). */
  warnBeforeUnload?: boolean;
  /** Source of randomness for the reconnect jitter (tests pass a seeded one). */
  random?: () => number;
  /** Base URL of the REST API for event catch-up; derived from `url` (`ws://h/v1/sync` → `http://h`). */
  httpUrl?: string;
  /** How often a live socket is checked with a ping (default 20 s; 0 = never). See checkAlive. */
  pingIntervalMs?: number;
  /**
   * Local persistence of the document, e.g. `new IndexeddbPersistence(room, doc)` from y-indexeddb, so
   * edits survive a reload while offline. Until its `whenSynced` resolves, the save state is not `saved`:
   * edits from before the reload may still be on their way from it. What it loads is sent like any
   * local change and saved once acknowledged.
   */
  localPersistence?: { whenSynced: Promise<unknown> };
}

export interface TandemProviderEvents {
  status: (status: ConnectionStatus) => void;
  save: (state: { state: SaveState; pendingUpdates: number }) => void;
  synced: (synced: boolean) => void;
  /** An error frame from the server (`read_only`, a refusal's reason before the close, …). */
  error: (error: { code: string; message: string }) => void;
}

export interface Diagnostics {
  status: ConnectionStatus;
  transport: 'websocket';
  reconnects: number;
  lastClose: { code: number; reason: string } | null;
  lastError: { code: string; message: string } | null;
  /** Time from sending a change to its durable ack, of the latest ack (ms). */
  lastAckMs: number | null;
  pendingUpdates: number;
}

const OPEN = 1;

/** How long before a token expires the provider asks for a fresh one (see scheduleTokenRefresh). */
const REFRESH_AHEAD_MS = 60_000;

/**
 * A Yjs provider for Tandem, close in shape to y-websocket's `WebsocketProvider`, that also knows
 * whether work is saved: it opts in to the Tandem extensions and reports `saved` only from the server's
 * durable acks. Reconnects by close code (see ReconnectPolicy), keeps edits made while disconnected and
 * sends them on reconnect, and refreshes its token in-band before it expires.
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
  private lastToken: string | undefined;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly policy: ReconnectPolicy;
  private readonly tracker = new SaveTracker();
  private readonly ownsAwareness: boolean;
  private ws: WebSocketLike | null = null;
  private shouldConnect = false;
  private everConnected = false;
  private liveSince = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;
  /** A connection attempt is fetching its token. */
  private opening = false;
  /** The state vector the server opened this connection with: what a later step 2 is diffed against. */
  private serverStateVector: Uint8Array | null = null;
  private synced_ = false;
  private status_: ConnectionStatus = 'offline';
  private readOnly_ = false;
  private reconnects = 0;
  private lastClose: { code: number; reason: string } | null = null;
  private lastError: { code: string; message: string } | null = null;
  private lastAckMs: number | null = null;
  private oldestUnackedAt: number | null = null;
  private readonly removeWindowListeners: () => void;
  private keepalive: Keepalive | null = null;

  constructor(options: TandemProviderOptions) {
    super();
    this.options = options;
    this.room = options.room;
    this.doc = options.doc ?? null;
    const WebSocketImpl = options.WebSocketPolyfill ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketImpl) throw new Error('no WebSocket available: pass WebSocketPolyfill (e.g. the ws package)');
    this.WebSocketImpl = WebSocketImpl;
    this.ownsAwareness = options.awareness === undefined;
    this.awareness = options.awareness ?? new awarenessProtocol.Awareness(this.doc ?? new Y.Doc());
    this.presence = new Presence(this.awareness);
    this.policy = new ReconnectPolicy({ ...defaultReconnectOptions, ...options.reconnect }, options.random);
    this.events = new RoomEvents({
      send: (frame) => {
        const ws = this.ws;
        if (!ws || ws.readyState !== OPEN || this.status_ !== 'live') return false;
        ws.send(frame);
        return true;
      },
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
      offline: () => {
        if (this.status_ !== 'live' && this.status_ !== 'failed') this.setStatus('offline');
      },
      leaving: () => awarenessProtocol.removeAwarenessStates(this.awareness, [this.awareness.clientID], 'pagehide'),
      shouldWarnBeforeUnload: () => this.options.warnBeforeUnload === true && this.saveState !== 'saved',
    });
    if (options.connect !== false) this.connect();
  }

  get status(): ConnectionStatus {
    return this.status_;
  }

  get saveState(): SaveState {
    return this.tracker.state(this.status_ === 'live');
  }

  get pendingUpdates(): number {
    return this.tracker.pendingUpdates;
  }

  get lastSavedAt(): number | null {
    return this.tracker.lastSavedAt;
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
      status: this.status_,
      transport: 'websocket',
      reconnects: this.reconnects,
      lastClose: this.lastClose,
      lastError: this.lastError,
      lastAckMs: this.lastAckMs,
      pendingUpdates: this.tracker.pendingUpdates,
    };
  }

  connect(): void {
    if (this.destroyed) return;
    this.shouldConnect = true;
    if (this.ws || this.retryTimer || this.opening) return;
    if (this.status_ === 'failed') this.policy.reset();
    void this.open();
  }

  /** Closes the socket and stops reconnecting; local edits stay pending until the next connect(). */
  disconnect(): void {
    this.shouldConnect = false;
    this.clearTimers();
    const ws = this.ws;
    if (ws) ws.close(1000, 'client disconnected');
    else this.setStatus('offline');
  }

  override destroy(): void {
    if (this.destroyed) return;
    this.disconnect();
    this.destroyed = true;
    this.removeWindowListeners();
    this.doc?.off('update', this.onDocUpdate);
    this.awareness.off('update', this.onAwarenessUpdate);
    if (this.ownsAwareness) this.awareness.destroy();
    super.destroy();
  }

  private async open(): Promise<void> {
    // One socket at a time: connect() and an online/visible retry may both arrive while the token is fetched.
    if (this.opening || this.ws) return;
    this.opening = true;
    this.setStatus(this.everConnected ? 'reconnecting' : 'connecting');
    let token: string | undefined;
    try {
      token = await this.resolveToken();
    } catch (err) {
      this.lastError = { code: 'token_failed', message: err instanceof Error ? err.message : String(err) };
      this.scheduleRetry(this.policy.decide(1006, 0));
      return;
    } finally {
      this.opening = false;
    }
    if (!this.shouldConnect || this.destroyed || this.ws) return;
    this.lastToken = token;
    const ws = new this.WebSocketImpl(this.socketUrl(token), [TANDEM_SUBPROTOCOL]);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => this.onOpen(ws);
    ws.onmessage = (event) => this.onMessage(ws, event.data);
    ws.onclose = (event) => this.onClose(ws, event.code, event.reason);
    ws.onerror = () => undefined; // a close follows; its code says what happened
    if (token !== undefined) this.scheduleTokenRefresh(token);
  }

  private socketUrl(token: string | undefined): string {
    const params = new URLSearchParams(this.options.params ?? {});
    if (token !== undefined) params.set('token', token);
    const query = params.toString();
    const base = this.options.url.replace(/\/+$/, '');
    return `${base}/${this.room}${query ? `?${query}` : ''}`;
  }

  /** REST catch-up for RoomEvents, authenticated like the socket. */
  private async fetchEvents(since: number, limit: number): Promise<EventEnvelope[]> {
    const base = (
      this.options.httpUrl ?? this.options.url.replace(/^ws/, 'http').replace(/\/v1\/sync\/*$/, '')
    ).replace(/\/+$/, '');
    const params = new URLSearchParams(this.options.params ?? {});
    params.set('since', String(since));
    params.set('limit', String(limit));
    const headers: Record<string, string> = this.lastToken ? { authorization: `Bearer ${this.lastToken}` } : {};
    const res = await fetch(`${base}/v1/rooms/${encodeURIComponent(this.room)}/events?${params}`, { headers });
    if (!res.ok) throw new Error(`event catch-up answered ${res.status}`);
    return ((await res.json()) as { events: EventEnvelope[] }).events;
  }

  private async resolveToken(): Promise<string | undefined> {
    const { token } = this.options;
    if (token === undefined || typeof token === 'string') return token;
    return token();
  }

  private onOpen(ws: WebSocketLike): void {
    if (ws !== this.ws) return;
    this.startAliveChecks(ws);
    if (this.doc) ws.send(encodeSyncStep1(Y.encodeStateVector(this.doc)));
    if (this.awareness.getLocalState() !== null) {
      ws.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.awareness.clientID])));
    }
  }

  private onMessage(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.ws) return;
    this.keepalive?.received();
    let message: Message;
    try {
      message = decodeMessage(new Uint8Array(data as ArrayBuffer));
    } catch {
      return; // a newer server's message this client does not know
    }
    switch (message.type) {
      case 'status': {
        this.readOnly_ = message.status.readOnly;
        const joined = this.status_ !== 'live';
        this.becameLive();
        if (joined) this.events.connected(message.status.serverTime);
        return;
      }
      case 'sync-step1':
        if (!this.doc) return;
        this.serverStateVector = message.stateVector.slice();
        this.becameLive();
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
          this.emit('synced', [true]);
        }
        return;
      case 'awareness':
        awarenessProtocol.applyAwarenessUpdate(this.awareness, message.update, this);
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

  private becameLive(): void {
    if (this.status_ === 'live') return;
    this.everConnected = true;
    this.liveSince = Date.now();
    this.setStatus('live');
    this.emitSave();
  }

  private onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.keepalive?.stop();
    this.keepalive = null;
    const liveMs = this.status_ === 'live' ? Date.now() - this.liveSince : 0;
    this.lastClose = { code, reason };
    this.tracker.disconnected();
    this.oldestUnackedAt = this.tracker.pendingUpdates > 0 ? Date.now() : null;
    if (this.synced_) {
      this.synced_ = false;
      this.emit('synced', [false]);
    }
    // Others' presence is unknown until the next connection tells it again.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.awareness.clientID);
    awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (!this.shouldConnect || this.destroyed) {
      this.setStatus('offline');
      this.emitSave();
      return;
    }
    this.reconnects++;
    this.scheduleRetry(this.policy.decide(code, liveMs));
    this.emitSave();
  }

  private startAliveChecks(ws: WebSocketLike): void {
    const interval = this.options.pingIntervalMs ?? 20_000;
    if (interval <= 0) return;
    this.keepalive = new Keepalive(
      interval,
      () => {
        if (ws.readyState === OPEN) ws.send(encodePing());
      },
      () => {
        this.onClose(ws, 4000, 'no answer to ping');
        ws.close(4000, 'no answer to ping');
      },
    );
  }

  private scheduleRetry(decision: ReturnType<ReconnectPolicy['decide']>): void {
    if (decision.action === 'fail') {
      this.shouldConnect = false;
      this.setStatus('failed');
      this.events.failed(`connection refused for good (${this.lastClose?.code ?? 'no close code'})`);
      return;
    }
    const delayMs = decision.action === 'refresh-token' ? 0 : decision.delayMs;
    this.setStatus(this.policy.exhausted || browserOffline() ? 'offline' : 'reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.shouldConnect && !this.destroyed) void this.open();
    }, delayMs);
  }

  /** Retry now (the browser came back online, or the tab became visible). */
  private retryNow(): void {
    if (!this.retryTimer || !this.shouldConnect) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.policy.reset();
    void this.open();
  }

  private scheduleTokenRefresh(token: string): void {
    if (typeof this.options.token !== 'function') return;
    const expiresAt = tokenExpiry(token);
    if (expiresAt === null) return;
    const left = expiresAt - Date.now();
    // A minute ahead for ordinary tokens; at 80% of the life of short ones (never a tight loop).
    const wait = left > 2 * REFRESH_AHEAD_MS ? left - REFRESH_AHEAD_MS : Math.max(1_000, left * 0.8);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refreshToken(), wait);
  }

  /** Sends a fresh token over the live socket, so the session outlives the old token's expiry. */
  private async refreshToken(): Promise<void> {
    this.refreshTimer = null;
    let token: string | undefined;
    try {
      token = await this.resolveToken();
    } catch {
      return; // the server closes with 4401 at expiry; the reconnect asks the token function again
    }
    const ws = this.ws;
    if (token === undefined || !ws || ws.readyState !== OPEN) return;
    ws.send(encodeToken(token));
    this.scheduleTokenRefresh(token);
  }

  /**
   * Sends what the server lacks of the whole document as a numbered sync step 2 (after local persistence
   * loaded); without a live socket, the next connection's step 2 does the same.
   */
  private sendLocalState(): void {
    const ws = this.ws;
    if (!this.doc || !ws || ws.readyState !== OPEN || this.status_ !== 'live') return;
    ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, this.serverStateVector ?? undefined)));
    this.tracker.sentState();
    this.noteSent();
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return;
    this.tracker.changed();
    this.oldestUnackedAt ??= Date.now();
    const ws = this.ws;
    if (ws && ws.readyState === OPEN) {
      ws.send(encodeSyncUpdate(update));
      this.tracker.sentUpdate();
    }
    this.emitSave();
  };

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this) return;
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return;
    const changed = [...added, ...updated, ...removed];
    ws.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed)));
  };

  private noteSent(): void {
    if (this.tracker.pendingUpdates > 0) this.oldestUnackedAt ??= Date.now();
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status_ === status) return;
    this.status_ = status;
    this.emit('status', [status]);
  }

  private emitSave(): void {
    this.emit('save', [{ state: this.saveState, pendingUpdates: this.tracker.pendingUpdates }]);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }
}
