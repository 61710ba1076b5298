import {
  decodeMessage,
  isValidRoomName,
  ProtocolError,
  ROOM_NAME_RULE,
  encodeAwareness,
  encodePing,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  encodeToken,
  TANDEM_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  type EventEnvelope,
  type Message,
  type ReceivedErrorCode,
} from '@tandem/protocol';
import { ObservableV2 } from 'lib0/observable';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { defaultReconnectOptions, ReconnectPolicy, type ReconnectOptions } from './reconnect-policy.js';
import { browserOffline, listenToBrowser } from './browser-hooks.js';
import { HttpSocket } from './http-socket.js';
import type { WebSocketConstructor, WebSocketLike } from './websocket-like.js';
import { Keepalive } from './keepalive.js';
import { Presence } from './presence.js';
import { RoomEvents } from './room-events.js';
import { SaveTracker, type SaveState } from './save-tracker.js';
import { tokenExpiry } from './token-expiry.js';

/**
 * `live` is connected over WebSocket, `fallback` over the HTTP transport (see `transport`). See
 * docs/client.md for the transitions.
 */
/** RFC 7230 token characters: what a Sec-WebSocket-Protocol value may hold. */
const SUBPROTOCOL_VALUE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export type ConnectionStatus = 'connecting' | 'live' | 'fallback' | 'reconnecting' | 'offline' | 'failed';

/** What carries the connection: a WebSocket, or the HTTP fallback with an event stream or polling. */
export type Transport = 'websocket' | 'http-stream' | 'http-polling';

export interface FallbackOptions {
  /** Use the HTTP transport when WebSocket cannot connect (default true). */
  enabled: boolean;
  /** WebSocket attempts in a row that never opened before the next attempt goes over HTTP (default 2). */
  afterFailures: number;
  /** Poll interval once the event stream turned out to be buffered (default 3000 ms). */
  pollIntervalMs: number;
  /** An event stream that has not opened by then is taken as buffered by a proxy (default 5000 ms). */
  streamOpenTimeoutMs: number;
  /** While on HTTP, WebSocket is tried again after this, doubling per failed try (default 5000 ms). */
  probeBaseMs: number;
  /** Largest wait between WebSocket tries (default 60000 ms). */
  probeMaxMs: number;
}

export const defaultFallbackOptions: FallbackOptions = {
  enabled: true,
  afterFailures: 2,
  pollIntervalMs: 3_000,
  streamOpenTimeoutMs: 5_000,
  probeBaseMs: 5_000,
  probeMaxMs: 60_000,
};

/** A token, or a function asked for one on every connect and before the current one expires. */
export type TokenSource = string | (() => string | Promise<string>);

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
   * How long a new connection may stay silent before the attempt counts as failed (ms, default 15000;
   * 0: wait forever). A server that accepts and never speaks would otherwise hold `connecting`.
   */
  handshakeTimeoutMs?: number;
  /** Most presence states kept from the server (default 10000); more are dropped, newest first. */
  maxPresenceStates?: number;
  /** When and how to fall back to the HTTP transport where WebSocket is blocked. */
  fallback?: Partial<FallbackOptions>;
  /** For the HTTP transport and event catch-up; defaults to the global fetch. */
  fetch?: typeof fetch;
  /**
   * Local persistence of the document, e.g. `new IndexeddbPersistence(room, doc)` from y-indexeddb, so
   * edits survive a reload while offline. Until its `whenSynced` resolves, the save state is not `saved`:
   * edits from before the reload may still be on their way from it. What it loads is sent like any
   * local change and saved once acknowledged.
   */
  localPersistence?: { whenSynced: Promise<unknown> };
}

/**
 * Codes the provider raises itself, beside the server's (`ErrorCode` of @tandem/protocol):
 * `token_failed` (the token callback threw), `invalid_message` (a frame that does not decode),
 * `permission_denied` (a stock server's auth message), `handshake_timeout` (no answer in time),
 * `presence_limit` (others' presence states past `maxPresenceStates` were dropped).
 */
export type ClientErrorCode =
  'token_failed' | 'invalid_message' | 'permission_denied' | 'handshake_timeout' | 'presence_limit';

/** An error the provider reports: a server's coded refusal or one of its own. */
export interface ProviderError {
  code: ReceivedErrorCode | ClientErrorCode;
  message: string;
}

export interface TandemProviderEvents {
  status: (status: ConnectionStatus) => void;
  save: (state: { state: SaveState; pendingUpdates: number }) => void;
  synced: (synced: boolean) => void;
  /** An error frame from the server (`read_only`, a refusal's reason before the close, …). */
  error: (error: ProviderError) => void;
  /** The connection now goes over this transport. */
  transport: (transport: Transport) => void;
}

export interface Diagnostics {
  status: ConnectionStatus;
  transport: Transport;
  /** WebSocket attempts in a row that never opened. */
  websocketFailures: number;
  reconnects: number;
  lastClose: { code: number; reason: string } | null;
  lastError: ProviderError | null;
  /** Time from sending a change to its durable ack, of the latest ack (ms). */
  lastAckMs: number | null;
  pendingUpdates: number;
}

const OPEN = 1;

/** How long before a token expires the provider asks for a fresh one (see scheduleTokenRefresh). */
const REFRESH_AHEAD_MS = 60_000;
/** How long a replaced HTTP session stays open at most while its WebSocket successor syncs. */
const RETIRE_AFTER_MS = 5_000;

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
  /** Whether the current connection opened (a WebSocket that never did counts toward the fallback). */
  private opened = false;
  /** Whether the current connection is joined (the server's first status or sync step 1 arrived). */
  private joined = false;
  private readonly fallback: FallbackOptions;
  private websocketFailures = 0;
  /** The last HTTP attempt never opened: the next attempt tries WebSocket again. */
  private httpFailedLast = false;
  /** The event stream was found buffered: later HTTP sessions poll from the start. */
  private pollingNeeded = false;
  private transport_: Transport = 'websocket';
  private probe: WebSocketLike | null = null;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private probeFailures = 0;
  /** The HTTP session a WebSocket took over from, open until the WebSocket has synced (see switchTo). */
  private retiring: WebSocketLike | null = null;
  private retiringTimer: ReturnType<typeof setTimeout> | null = null;
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
  private lastError: ProviderError | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
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
    this.fallback = { ...defaultFallbackOptions, ...options.fallback };
    this.events = new RoomEvents({
      send: (frame) => {
        const ws = this.ws;
        if (!ws || ws.readyState !== OPEN || !this.joined) return false;
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
      offline: () => this.browserWentOffline(),
      leaving: () => awarenessProtocol.removeAwarenessStates(this.awareness, [this.awareness.clientID], 'pagehide'),
      shouldWarnBeforeUnload: () => this.options.warnBeforeUnload === true && this.tracker.pendingUpdates > 0,
    });
    if (options.connect !== false) this.connect();
  }

  get status(): ConnectionStatus {
    return this.status_;
  }

  get saveState(): SaveState {
    if (this.readOnly_) return 'read-only';
    return this.tracker.state(this.joined, this.everConnected);
  }

  get pendingUpdates(): number {
    return this.tracker.pendingUpdates;
  }

  get lastSavedAt(): number | null {
    return this.tracker.lastSavedAt;
  }

  /** What carries the connection (the last one, while disconnected). */
  get transport(): Transport {
    return this.transport_;
  }

  /** True while the HTTP fallback polls because its event stream is buffered on this network. */
  get polling(): boolean {
    return this.transport_ === 'http-polling';
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
      transport: this.transport_,
      websocketFailures: this.websocketFailures,
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
    this.stopProbe();
    this.closeRetired();
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
    // The server's own rule: a name it would refuse (or a URL would normalise, as `a/../b` into `b`)
    // fails here, for good, instead of retrying forever over every transport.
    if (!isValidRoomName(this.room)) {
      const error: ProviderError = { code: 'invalid_room_name', message: `"${this.room}": ${ROOM_NAME_RULE}` };
      this.lastError = error;
      this.shouldConnect = false;
      // After the constructor returns, so listeners attached right after it hear it.
      queueMicrotask(() => {
        this.setStatus('failed');
        this.emit('error', [error]);
      });
      return;
    }
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
    const useHttp =
      this.fallback.enabled && this.websocketFailures >= this.fallback.afterFailures && !this.httpFailedLast;
    const ws = useHttp ? this.httpSocket() : this.webSocket(token);
    this.ws = ws;
    this.opened = false;
    this.attach(ws);
    ws.onopen = () => this.onOpen(ws);
    this.startHandshakeTimer(ws);
    if (token !== undefined) this.scheduleTokenRefresh(token);
  }

  /**
   * The token rides in a subprotocol entry, never in the URL, where a refused socket's console line,
   * proxy logs and history would show it. Only a token that is not a valid subprotocol value (JWTs
   * always are) goes in the query instead.
   */
  private webSocket(token: string | undefined): WebSocketLike {
    const inProtocol = token !== undefined && SUBPROTOCOL_VALUE.test(token);
    const protocols = inProtocol ? [TANDEM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token] : [TANDEM_SUBPROTOCOL];
    const ws = new this.WebSocketImpl(this.socketUrl(inProtocol ? undefined : token), protocols);
    ws.binaryType = 'arraybuffer';
    return ws;
  }

  private httpSocket(): HttpSocket {
    const socket = new HttpSocket({
      httpUrl: this.httpBase(),
      room: this.room,
      params: this.options.params ?? {},
      token: () => this.lastToken,
      pollIntervalMs: this.fallback.pollIntervalMs,
      streamOpenTimeoutMs: this.fallback.streamOpenTimeoutMs,
      heartbeatMs: 10_000,
      poll: this.pollingNeeded,
      fetch: this.options.fetch,
    });
    socket.onpolling = () => {
      this.pollingNeeded = true;
      if (socket === this.ws && this.opened) this.setTransport('http-polling');
    };
    return socket;
  }

  private attach(ws: WebSocketLike): void {
    ws.onmessage = (event) => this.onMessage(ws, event.data);
    ws.onclose = (event) => this.onClose(ws, event.code, event.reason);
    ws.onerror = () => undefined; // a close follows; its code says what happened
  }

  private httpBase(): string {
    return (this.options.httpUrl ?? this.options.url.replace(/^ws/, 'http').replace(/\/v1\/sync\/*$/, '')).replace(
      /\/+$/,
      '',
    );
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
    const base = this.httpBase();
    const params = new URLSearchParams(this.options.params ?? {});
    params.set('since', String(since));
    params.set('limit', String(limit));
    const headers: Record<string, string> = this.lastToken ? { authorization: `Bearer ${this.lastToken}` } : {};
    const res = await (this.options.fetch ?? fetch)(
      `${base}/v1/rooms/${encodeURIComponent(this.room)}/events?${params}`,
      { headers },
    );
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
    this.opened = true;
    if (ws instanceof HttpSocket) {
      this.httpFailedLast = false;
      this.setTransport(ws.polling ? 'http-polling' : 'http-stream');
    } else {
      this.websocketFailures = 0;
      this.setTransport('websocket');
    }
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
    } catch (err) {
      // A newer server's message this client does not know is skipped; anything else is malformed.
      const code = err instanceof ProtocolError ? err.code : null;
      if (code === 'unknown_message_type' || code === 'unknown_sync_type') return;
      this.malformed(ws, `malformed frame: ${String(err)}`);
      return;
    }
    try {
      this.handle(ws, message);
    } catch (err) {
      // A frame that decodes but whose content does not (a corrupt update, state vector or awareness).
      this.malformed(ws, `malformed ${message.type} frame: ${String(err)}`);
    }
  }

  /**
   * A broken or hostile server's frame must never escape into the app's process: the connection is
   * dropped with a protocol error (1002) and retried like a lost one (4000), not given up on as a
   * server's own 1002 would be — the next attempt may reach a healthy instance.
   */
  private malformed(ws: WebSocketLike, message: string): void {
    this.lastError = { code: 'invalid_message', message };
    this.emit('error', [this.lastError]);
    this.onClose(ws, 4000, 'malformed frame');
    ws.close(1002, 'malformed frame');
  }

  private handle(ws: WebSocketLike, message: Message): void {
    switch (message.type) {
      case 'status': {
        this.readOnly_ = message.status.readOnly;
        if (this.readOnly_) this.refuseLocalChanges(this.tracker.discard());
        const joined = !this.joined;
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
          this.closeRetired();
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
   * A server (or proxy) that accepts the connection and then says nothing would leave the provider
   * `connecting` forever: without a status or sync message in time, the attempt counts as failed.
   */
  private startHandshakeTimer(ws: WebSocketLike): void {
    this.clearHandshakeTimer();
    const timeoutMs = this.options.handshakeTimeoutMs ?? 15_000;
    if (timeoutMs <= 0) return;
    const timer = setTimeout(() => {
      if (ws !== this.ws || this.joined) return;
      this.lastError = { code: 'handshake_timeout', message: `no answer from the server within ${timeoutMs} ms` };
      this.emit('error', [this.lastError]);
      this.onClose(ws, 4000, 'no handshake');
      ws.close(4000, 'no handshake');
    }, timeoutMs);
    this.handshakeTimer = timer;
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
    awarenessProtocol.removeAwarenessStates(this.awareness, excess, 'presence-cap');
    if (this.lastError?.code !== 'presence_limit') {
      this.lastError = { code: 'presence_limit', message: `more than ${max} presence states; the newest were dropped` };
      this.emit('error', [this.lastError]);
    }
  }

  private becameLive(): void {
    if (this.joined) return;
    this.clearHandshakeTimer();
    this.joined = true;
    this.everConnected = true;
    this.liveSince = Date.now();
    const http = this.ws instanceof HttpSocket;
    this.setStatus(http ? 'fallback' : 'live');
    if (http) this.scheduleProbe();
    this.emitSave();
  }

  private onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    // A WebSocket that never got as far as joining counts toward the fallback, opened or not: some
    // proxies accept the upgrade and then cut the connection.
    // Attempts made while the browser says it is offline prove nothing about WebSocket.
    if (!this.joined && !browserOffline()) {
      if (ws instanceof HttpSocket) this.httpFailedLast = true;
      else this.websocketFailures++;
    }
    this.stopProbe();
    this.closeRetired();
    const liveMs = this.joined ? Date.now() - this.liveSince : 0;
    this.lastClose = { code, reason };
    this.connectionEnded();
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

  /**
   * What ends with any connection, whether it closed or is being replaced by a better transport. A
   * replacement keeps the others' presence: the new connection re-sends it, and dropping it meanwhile
   * would flicker everyone out and back in.
   */
  private connectionEnded(replaced = false): void {
    this.clearHandshakeTimer();
    this.joined = false;
    this.keepalive?.stop();
    this.keepalive = null;
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

  /** While on HTTP, tries WebSocket again now and then (with backoff); the first that opens takes over. */
  private scheduleProbe(): void {
    if (this.probeTimer || this.probe) return;
    const { probeBaseMs, probeMaxMs } = this.fallback;
    const step = Math.min(probeMaxMs, probeBaseMs * 2 ** this.probeFailures);
    const random = this.options.random ?? Math.random;
    this.probeTimer = setTimeout(
      () => {
        this.probeTimer = null;
        this.runProbe();
      },
      step / 2 + (random() * step) / 2,
    );
  }

  private runProbe(): void {
    if (!(this.ws instanceof HttpSocket) || !this.joined || !this.shouldConnect) return;
    const probe = this.webSocket(this.lastToken);
    this.probe = probe;
    probe.onerror = () => undefined;
    probe.onclose = () => {
      if (this.probe !== probe) return;
      this.probe = null;
      this.probeFailures++;
      this.scheduleProbe();
    };
    // Taken over only once the server speaks on it (it says nothing before the join): a proxy that
    // accepts upgrades and then cuts them must not pull the provider off a working HTTP session.
    probe.onopen = () => undefined;
    probe.onmessage = (event) => {
      if (this.probe !== probe) return;
      this.probe = null;
      this.probeFailures = 0;
      this.switchTo(probe);
      this.onMessage(probe, event.data);
    };
  }

  /**
   * Replaces the HTTP connection by a WebSocket that just opened. Exactly a reconnect, minus the wait:
   * the new connection's sync exchange sends whatever the server lacks and its acks settle the save
   * state; event catch-up fills any gap. Others must not see this user leave and come back: the old
   * session stays open until the WebSocket has synced — by then the server has our presence from the
   * WebSocket (sent before its sync step 1 was answered), so closing the old session removes nothing.
   */
  private switchTo(ws: WebSocketLike): void {
    const old = this.ws;
    if (!old || this.destroyed || !this.shouldConnect) {
      ws.close(1000, 'not needed');
      return;
    }
    this.ws = ws;
    this.connectionEnded(true);
    this.closeRetired();
    this.retiring = old;
    // A WebSocket that neither syncs nor closes must not keep the old session forever.
    this.retiringTimer = setTimeout(() => this.closeRetired(), RETIRE_AFTER_MS);
    this.reconnects++;
    this.attach(ws);
    this.onOpen(ws);
    this.emitSave();
  }

  private closeRetired(): void {
    if (this.retiringTimer) clearTimeout(this.retiringTimer);
    this.retiringTimer = null;
    const old = this.retiring;
    this.retiring = null;
    old?.close(1000, 'switching to WebSocket');
  }

  private stopProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    const probe = this.probe;
    this.probe = null;
    probe?.close(1000, 'not needed');
    this.probeFailures = 0;
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

  /**
   * The browser says the network is gone: the connection cannot be trusted (a dead TCP connection can
   * take minutes to notice), so it ends now and the status and save state say so. Retries go on; the
   * `online` event retries at once.
   */
  private browserWentOffline(): void {
    const ws = this.ws;
    if (ws) {
      this.onClose(ws, 4000, 'the browser went offline');
      ws.close(4000, 'the browser went offline');
    } else if (this.status_ !== 'failed' && this.shouldConnect) {
      this.setStatus('offline');
    }
  }

  /** Retry now (the browser came back online, or the tab became visible). */
  /**
   * Retries at once instead of waiting out the backoff (a dev server that came back, a "retry" button).
   * Does nothing while connected or connecting, or after `failed` (call `connect()` then).
   */
  retryNow(): void {
    if (!this.retryTimer || !this.shouldConnect) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.policy.reset();
    // Back online, or back in the tab: the network may have changed, so WebSocket gets a new chance.
    this.websocketFailures = 0;
    this.httpFailedLast = false;
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
    // REST catch-up and the HTTP transport's requests use the fresh one too.
    this.lastToken = token;
    ws.send(encodeToken(token));
    this.scheduleTokenRefresh(token);
  }

  /**
   * Sends what the server lacks of the whole document as a numbered sync step 2 (after local persistence
   * loaded); without a live socket, the next connection's step 2 does the same.
   */
  private sendLocalState(): void {
    const ws = this.ws;
    if (!this.doc || !ws || ws.readyState !== OPEN || !this.joined) return;
    ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, this.serverStateVector ?? undefined)));
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

  private setTransport(transport: Transport): void {
    if (this.transport_ === transport) return;
    this.transport_ = transport;
    this.emit('transport', [transport]);
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
    this.clearHandshakeTimer();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}
