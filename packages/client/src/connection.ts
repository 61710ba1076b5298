import { encodePing, encodeToken, TANDEM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@tandem/protocol';
import { browserOffline } from './browser-hooks.js';
import { HttpSocket } from './http-socket.js';
import { Keepalive } from './keepalive.js';
import { ReconnectPolicy, type ReconnectDecision, type ReconnectOptions } from './reconnect-policy.js';
import { tokenExpiry } from './token-expiry.js';
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

/** A token, or a function asked for one on every connect and before the current one expires. */
export type TokenSource = string | (() => string | Promise<string>);

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
/** RFC 7230 token characters: what a Sec-WebSocket-Protocol value may hold. */
const SUBPROTOCOL_VALUE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** How long before a token expires the connection asks for a fresh one (see scheduleTokenRefresh). */
const REFRESH_AHEAD_MS = 60_000;
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
  /** Whether the current connection is joined (the server's first status or sync step 1 arrived). */
  private joined_ = false;
  private websocketFailures_ = 0;
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
  private everConnected_ = false;
  private liveSince = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
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
    this.stopProbe();
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
    const http = this.ws instanceof HttpSocket;
    this.moveTo(http ? 'fallback' : 'live');
    if (http) this.scheduleProbe();
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
    return (this.options.httpUrl ?? this.options.url.replace(/^ws/, 'http').replace(/\/v1\/sync\/*$/, '')).replace(
      /\/+$/,
      '',
    );
  }

  private async open(): Promise<void> {
    // One socket at a time: connect() and an online/visible retry may both arrive while the token is fetched.
    if (this.opening || this.ws) return;
    this.opening = true;
    this.moveTo(this.everConnected_ ? 'reconnecting' : 'connecting');
    let token: string | undefined;
    try {
      token = await this.resolveToken();
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
    const ws = useHttp ? this.httpSocket() : this.webSocket(token);
    this.ws = ws;
    this.attach(ws);
    ws.onopen = () => this.onOpen(ws);
    this.startHandshakeTimer(ws);
    if (token !== undefined) this.scheduleTokenRefresh(token);
  }

  private async resolveToken(): Promise<string | undefined> {
    const { token } = this.options;
    if (token === undefined || typeof token === 'string') return token;
    return token();
  }

  /**
   * The token rides in a subprotocol entry, never in the URL, where a refused socket's console line,
   * proxy logs and history would show it. Only a token that is not a valid subprotocol value (JWTs
   * always are) goes in the query instead.
   */
  private webSocket(token: string | undefined): WebSocketLike {
    const inProtocol = token !== undefined && SUBPROTOCOL_VALUE.test(token);
    const protocols = inProtocol ? [TANDEM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token] : [TANDEM_SUBPROTOCOL];
    const ws = new this.options.WebSocketImpl(this.socketUrl(inProtocol ? undefined : token), protocols);
    ws.binaryType = 'arraybuffer';
    return ws;
  }

  private httpSocket(): HttpSocket {
    const { fallback } = this.options;
    const socket = new HttpSocket({
      httpUrl: this.httpBase(),
      room: this.options.room,
      params: this.options.params ?? {},
      token: () => this.token_,
      pollIntervalMs: fallback.pollIntervalMs,
      streamOpenTimeoutMs: fallback.streamOpenTimeoutMs,
      heartbeatMs: 10_000,
      poll: this.pollingNeeded,
      fetch: this.options.fetch,
    });
    socket.onpolling = () => {
      this.pollingNeeded = true;
      if (socket === this.ws && socket.readyState === OPEN) this.setTransport('http-polling');
    };
    return socket;
  }

  private socketUrl(token: string | undefined): string {
    const params = new URLSearchParams(this.options.params ?? {});
    if (token !== undefined) params.set('token', token);
    const query = params.toString();
    const base = this.options.url.replace(/\/+$/, '');
    return `${base}/${this.options.room}${query ? `?${query}` : ''}`;
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
    if (ws instanceof HttpSocket) {
      this.httpFailedLast = false;
      this.setTransport(ws.polling ? 'http-polling' : 'http-stream');
    } else {
      this.websocketFailures_ = 0;
      this.setTransport('websocket');
    }
    this.startAliveChecks(ws);
    this.host.opened(ws);
  }

  private closed(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    // A WebSocket that never got as far as joining counts toward the fallback, opened or not: some
    // proxies accept the upgrade and then cut the connection.
    // Attempts made while the browser says it is offline prove nothing about WebSocket.
    if (!this.joined_ && !browserOffline()) {
      if (ws instanceof HttpSocket) this.httpFailedLast = true;
      else this.websocketFailures_++;
    }
    this.stopProbe();
    this.closeRetired();
    const liveMs = this.joined_ ? Date.now() - this.liveSince : 0;
    this.lastClose_ = { code, reason };
    this.ended(false);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
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

  /** While on HTTP, tries WebSocket again now and then (with backoff); the first that opens takes over. */
  private scheduleProbe(): void {
    if (this.probeTimer || this.probe) return;
    const { probeBaseMs, probeMaxMs } = this.options.fallback;
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
    if (!(this.ws instanceof HttpSocket) || !this.joined_ || !this.shouldConnect) return;
    const probe = this.webSocket(this.token_);
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
      if (!this.switchTo(probe)) return;
      this.keepalive?.received();
      this.host.received(probe, event.data);
    };
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

  private stopProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    const probe = this.probe;
    this.probe = null;
    probe?.close(1000, 'not needed');
    this.probeFailures = 0;
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
    if (token === undefined || !this.isOpen) return;
    // REST catch-up and the HTTP transport's requests use the fresh one too.
    this.token_ = token;
    this.send(encodeToken(token));
    this.scheduleTokenRefresh(token);
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
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.clearHandshakeTimer();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}
