import { encodePing, encodeToken } from '@tandem/protocol';
import { browserOffline } from './browser-hooks.js';
import type { HttpSocket } from './http-socket.js';
import { httpBase, openHttpSocket, openWebSocket } from './room-sockets.js';
import { Keepalive } from './keepalive.js';
import { ReconnectPolicy, type ReconnectDecision, type ReconnectOptions } from './reconnect-policy.js';
import { TokenRefresher, type TokenSource } from './token-refresher.js';
import { WebSocketProbe } from './websocket-probe.js';
import type { WebSocketConstructor, WebSocketLike } from './websocket-like.js';

/**
 * `live` is connected over WebSocket, `fallback` over the HTTP transport (see `transport`). The
 * transitions are `STATUS_TRANSITIONS` (docs/client.md draws the same, held to it by a test).
 */
export type ConnectionStatus = 'connecting' | 'live' | 'fallback' | 'reconnecting' | 'offline' | 'failed';

/** What carries the connection: a WebSocket, or the HTTP fallback with an event stream or polling. */
export type Transport = 'websocket' | 'http-stream' | 'http-polling';

/** Every status change the connection makes; any other is a bug, refused and reported. */
export const STATUS_TRANSITIONS: Readonly<Record<ConnectionStatus, readonly ConnectionStatus[]>> = {
  offline: ['connecting', 'reconnecting', 'failed'],
  connecting: ['live', 'fallback', 'reconnecting', 'offline', 'failed'],
  // Back to connecting when no attempt has ever joined (the first ones failed).
  reconnecting: ['connecting', 'live', 'fallback', 'offline', 'failed'],
  live: ['reconnecting', 'offline', 'failed'],
  fallback: ['live', 'reconnecting', 'offline', 'failed'],
  failed: ['connecting', 'reconnecting', 'offline'],
};

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

export type { TokenSource };

export interface ConnectionOptions {
  url: string;
  room: string;
  token?: TokenSource;
  params?: Record<string, string>;
  httpUrl?: string;
  WebSocketImpl: WebSocketConstructor;
  reconnect: ReconnectOptions;
  fallback: FallbackOptions;
  random?: () => number;
  pingIntervalMs?: number;
  handshakeTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** What the connection tells the provider, which owns the document, presence, acks and events. */
export interface ConnectionHost {
  /** A connection opened (or took over): start the sync exchange on it. */
  opened(socket: WebSocketLike): void;
  /** A frame arrived on the current connection. */
  received(socket: WebSocketLike, data: unknown): void;
  /** The current connection ended; `replaced` when a better transport took over (keep what it knew). */
  ended(replaced: boolean): void;
  statusChanged(status: ConnectionStatus): void;
  transportChanged(transport: Transport): void;
  /** The server will not take this client back (a final close code). */
  failed(reason: string): void;
  /** Something the app should hear about (a failed token fetch, a silent server, a bug). */
  error(error: { code: 'token_failed' | 'handshake_timeout' | 'invalid_transition'; message: string }): void;
  /** The save state may have changed (joined, closed). */
  changed(): void;
}

const OPEN = 1;
/** How long a replaced HTTP session stays open at most while its WebSocket successor syncs. */
const RETIRE_AFTER_MS = 5_000;

/**
 * One room's connection to the server: which transport carries it, its status (with guarded
 * transitions), reconnects by close code (ReconnectPolicy), the HTTP fallback and the probes that
 * bring it back to WebSocket, the handshake and keepalive timers, and the token it connects with.
 * What goes over it is the provider's (as Hocuspocus splits its provider from the socket, and ShareDB's
 * Connection guards `_setState`).
 */
export class Connection {
  private readonly policy: ReconnectPolicy;
  private ws: WebSocketLike | null = null;
  /** The current socket when it is the HTTP transport (the same object as `ws`), else null. */
  private http: HttpSocket | null = null;
  /** Whether the current connection is joined (the server's first status or sync step 1 arrived). */
  private joined_ = false;
  private websocketFailures_ = 0;
  /** The last HTTP attempt never opened: the next attempt tries WebSocket again. */
  private httpFailedLast = false;
  /** The event stream was found buffered: later HTTP sessions poll from the start. */
  private pollingNeeded = false;
  private transport_: Transport = 'websocket';
  /** While on HTTP: the tries to get back to WebSocket. */
  private readonly probe: WebSocketProbe;
  /** The token to connect with, and its refreshes over the live connection. */
  private readonly tokens: TokenRefresher;
  /** The HTTP session a WebSocket took over from, open until the WebSocket has synced (see switchTo). */
  private retiring: WebSocketLike | null = null;
  private retiringTimer: ReturnType<typeof setTimeout> | null = null;
  private shouldConnect = false;
  private everConnected_ = false;
  private liveSince = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private keepalive: Keepalive | null = null;
  private destroyed = false;
  /** A connection attempt is fetching its token. */
  private opening = false;
  private status_: ConnectionStatus = 'offline';
  private reconnects_ = 0;
  private lastClose_: { code: number; reason: string } | null = null;
  /** The token of the current connection (also for REST catch-up and the HTTP transport's requests). */
  private token_: string | undefined;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly host: ConnectionHost,
  ) {
    this.policy = new ReconnectPolicy(options.reconnect, options.random);
    this.probe = new WebSocketProbe(
      { ...options.fallback, random: options.random },
      {
        wanted: () => this.http !== null && this.joined_ && this.shouldConnect,
        open: () => openWebSocket(this.options, this.token_),
        spoke: (ws, data) => {
          if (!this.switchTo(ws)) return;
          this.keepalive?.received();
          this.host.received(ws, data);
        },
      },
    );
    this.tokens = new TokenRefresher(options.token, (token) => {
      if (!this.isOpen) return false;
      // REST catch-up and the HTTP transport's requests use the fresh one too.
      this.token_ = token;
      this.send(encodeToken(token));
      return true;
    });
  }

  get status(): ConnectionStatus {
    return this.status_;
  }

  get transport(): Transport {
    return this.transport_;
  }

  get joined(): boolean {
    return this.joined_;
  }

  get everConnected(): boolean {
    return this.everConnected_;
  }

  get token(): string | undefined {
    return this.token_;
  }

  get reconnects(): number {
    return this.reconnects_;
  }

  get lastClose(): { code: number; reason: string } | null {
    return this.lastClose_;
  }

  get websocketFailures(): number {
    return this.websocketFailures_;
  }

  /** A socket is open: frames sent now reach the server (whether or not it has joined us yet). */
  get isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  /** Open and joined: what needs the server's side of the session (events, a catch-up step 2). */
  get canSend(): boolean {
    return this.joined_ && this.isOpen;
  }

  /** Sends a frame if a socket is open; false when there is none. */
  send(frame: Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.ws!.send(frame);
    return true;
  }

  connect(): void {
    if (this.destroyed) return;
    this.shouldConnect = true;
    if (this.ws || this.retryTimer || this.opening) return;
    if (this.status_ === 'failed') this.policy.reset();
    void this.open();
  }

  /** Closes the socket and stops reconnecting. */
  disconnect(): void {
    this.shouldConnect = false;
    this.clearTimers();
    this.probe.stop();
    this.closeRetired();
    const ws = this.ws;
    if (ws) ws.close(1000, 'client disconnected');
    else this.moveTo('offline');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.disconnect();
    this.destroyed = true;
  }

  /** Refuses the connection for good before any attempt (an invalid room name). */
  refuse(): void {
    this.shouldConnect = false;
    this.moveTo('failed');
  }

  /** The server spoke on the current connection: it is joined. True the first time. */
  markJoined(): boolean {
    if (this.joined_) return false;
    this.clearHandshakeTimer();
    this.joined_ = true;
    this.everConnected_ = true;
    this.liveSince = Date.now();
    const overHttp = this.http !== null;
    this.moveTo(overHttp ? 'fallback' : 'live');
    if (overHttp) this.probe.schedule();
    this.host.changed();
    return true;
  }

  /** The current connection's document synced: an HTTP session it replaced is no longer needed. */
  markSynced(): void {
    this.closeRetired();
  }

  /** Drops the current connection as a lost one (4000) and closes it with `closeCode`. */
  drop(socket: WebSocketLike, reason: string, closeCode = 4000): void {
    this.closed(socket, 4000, reason);
    socket.close(closeCode, reason);
  }

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
    this.websocketFailures_ = 0;
    this.httpFailedLast = false;
    void this.open();
  }

  /**
   * The browser says the network is gone: the connection cannot be trusted (a dead TCP connection can
   * take minutes to notice), so it ends now. Retries go on; the `online` event retries at once.
   */
  browserWentOffline(): void {
    const ws = this.ws;
    if (ws) this.drop(ws, 'the browser went offline');
    else if (this.status_ !== 'failed' && this.shouldConnect) this.moveTo('offline');
  }

  /** Base URL of the REST API (for event catch-up and the HTTP transport). */
  httpBase(): string {
    return httpBase(this.options);
  }

  private async open(): Promise<void> {
    // One socket at a time: connect() and an online/visible retry may both arrive while the token is fetched.
    if (this.opening || this.ws) return;
    this.opening = true;
    this.moveTo(this.everConnected_ ? 'reconnecting' : 'connecting');
    let token: string | undefined;
    try {
      token = await this.tokens.resolve();
    } catch (err) {
      this.host.error({ code: 'token_failed', message: err instanceof Error ? err.message : String(err) });
      this.scheduleRetry(this.policy.decide(1006, 0));
      return;
    } finally {
      this.opening = false;
    }
    if (!this.shouldConnect || this.destroyed || this.ws) return;
    this.token_ = token;
    const { fallback } = this.options;
    const useHttp = fallback.enabled && this.websocketFailures_ >= fallback.afterFailures && !this.httpFailedLast;
    const http = useHttp ? this.httpSocket() : null;
    const ws = http ?? openWebSocket(this.options, token);
    this.ws = ws;
    this.http = http;
    this.attach(ws);
    ws.onopen = () => this.onOpen(ws);
    this.startHandshakeTimer(ws);
    if (token !== undefined) this.tokens.schedule(token);
  }

  private httpSocket(): HttpSocket {
    const socket = openHttpSocket(this.options, { token: () => this.token_, poll: this.pollingNeeded });
    socket.onpolling = () => {
      this.pollingNeeded = true;
      if (socket === this.ws && socket.readyState === OPEN) this.setTransport('http-polling');
    };
    return socket;
  }

  private attach(ws: WebSocketLike): void {
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.keepalive?.received();
      this.host.received(ws, event.data);
    };
    ws.onclose = (event) => this.closed(ws, event.code, event.reason);
    ws.onerror = () => undefined; // a close follows; its code says what happened
  }

  private onOpen(ws: WebSocketLike): void {
    if (ws !== this.ws) return;
    if (this.http) {
      this.httpFailedLast = false;
      this.setTransport(this.http.polling ? 'http-polling' : 'http-stream');
    } else {
      this.websocketFailures_ = 0;
      this.setTransport('websocket');
    }
    this.startAliveChecks(ws);
    this.host.opened(ws);
  }

  private closed(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws) return;
    const overHttp = this.http !== null;
    this.ws = null;
    this.http = null;
    // A WebSocket that never got as far as joining counts toward the fallback, opened or not: some
    // proxies accept the upgrade and then cut the connection.
    // Attempts made while the browser says it is offline prove nothing about WebSocket.
    if (!this.joined_ && !browserOffline()) {
      if (overHttp) this.httpFailedLast = true;
      else this.websocketFailures_++;
    }
    this.probe.stop();
    this.closeRetired();
    const liveMs = this.joined_ ? Date.now() - this.liveSince : 0;
    this.lastClose_ = { code, reason };
    this.ended(false);
    this.tokens.stop();
    if (!this.shouldConnect || this.destroyed) {
      this.moveTo('offline');
      this.host.changed();
      return;
    }
    this.reconnects_++;
    this.scheduleRetry(this.policy.decide(code, liveMs));
    this.host.changed();
  }

  /** What ends with any connection, whether it closed or is being replaced by a better transport. */
  private ended(replaced: boolean): void {
    this.clearHandshakeTimer();
    this.joined_ = false;
    this.keepalive?.stop();
    this.keepalive = null;
    this.host.ended(replaced);
  }

  private scheduleRetry(decision: ReconnectDecision): void {
    if (decision.action === 'fail') {
      this.shouldConnect = false;
      this.moveTo('failed');
      this.host.failed(`connection refused for good (${this.lastClose_?.code ?? 'no close code'})`);
      return;
    }
    const delayMs = decision.action === 'refresh-token' ? 0 : decision.delayMs;
    this.moveTo(this.policy.exhausted || browserOffline() ? 'offline' : 'reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.shouldConnect && !this.destroyed) void this.open();
    }, delayMs);
  }

  /**
   * A server (or proxy) that accepts the connection and then says nothing would leave the provider
   * `connecting` forever: without a status or sync message in time, the attempt counts as failed.
   */
  private startHandshakeTimer(ws: WebSocketLike): void {
    this.clearHandshakeTimer();
    const timeoutMs = this.options.handshakeTimeoutMs ?? 15_000;
    if (timeoutMs <= 0) return;
    this.handshakeTimer = setTimeout(() => {
      if (ws !== this.ws || this.joined_) return;
      this.host.error({ code: 'handshake_timeout', message: `no answer from the server within ${timeoutMs} ms` });
      this.drop(ws, 'no handshake', 4000);
    }, timeoutMs);
  }

  private startAliveChecks(ws: WebSocketLike): void {
    const interval = this.options.pingIntervalMs ?? 20_000;
    if (interval <= 0) return;
    this.keepalive = new Keepalive(
      interval,
      () => {
        if (ws.readyState === OPEN) ws.send(encodePing());
      },
      () => this.drop(ws, 'no answer to ping', 4000),
    );
  }

  /**
   * Replaces the HTTP connection by a WebSocket that just opened. Exactly a reconnect, minus the wait:
   * the new connection's sync exchange sends whatever the server lacks and its acks settle the save
   * state; event catch-up fills any gap. Others must not see this user leave and come back: the old
   * session stays open until the WebSocket has synced — by then the server has our presence from the
   * WebSocket (sent before its sync step 1 was answered), so closing the old session removes nothing.
   */
  private switchTo(ws: WebSocketLike): boolean {
    const old = this.ws;
    if (!old || this.destroyed || !this.shouldConnect) {
      ws.close(1000, 'not needed');
      return false;
    }
    this.ws = ws;
    this.http = null;
    this.ended(true);
    this.closeRetired();
    this.retiring = old;
    // A WebSocket that neither syncs nor closes must not keep the old session forever.
    this.retiringTimer = setTimeout(() => this.closeRetired(), RETIRE_AFTER_MS);
    this.reconnects_++;
    this.attach(ws);
    this.onOpen(ws);
    this.host.changed();
    return true;
  }

  private closeRetired(): void {
    if (this.retiringTimer) clearTimeout(this.retiringTimer);
    this.retiringTimer = null;
    const old = this.retiring;
    this.retiring = null;
    old?.close(1000, 'switching to WebSocket');
  }

  private setTransport(transport: Transport): void {
    if (this.transport_ === transport) return;
    this.transport_ = transport;
    this.host.transportChanged(transport);
  }

  /** The one place the status changes: only along STATUS_TRANSITIONS (a refused one is a bug, reported). */
  private moveTo(status: ConnectionStatus): void {
    if (this.status_ === status) return;
    if (!STATUS_TRANSITIONS[this.status_].includes(status)) {
      this.host.error({ code: 'invalid_transition', message: `status ${this.status_} cannot become ${status}` });
      return;
    }
    this.status_ = status;
    this.host.statusChanged(status);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.tokens.stop();
    this.clearHandshakeTimer();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}
