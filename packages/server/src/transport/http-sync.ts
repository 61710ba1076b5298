import type { IncomingMessage } from 'node:http';
import type { Principal } from '../auth/authenticator.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { clientAddress } from './client-address.js';
import { HttpPeer, type HttpPeerHooks } from './http-peer.js';
import { reportingHooks } from './session-peer.js';
import { SyncSession, type SessionLimits } from './sync-session.js';
import type { SyncEndpointDeps } from './websocket.js';

export interface HttpSyncOptions {
  limits: SessionLimits;
  maxBufferedBytes: number;
  /** A session with no stream attached and no request for this long is expired and its presence removed. */
  sessionTimeoutMs: number;
  trustProxy: boolean;
}

/** The same collaborators as the WebSocket endpoint: both transports drive SyncSessions. */
export type HttpSyncDeps = SyncEndpointDeps;

/** Session ids are chosen by the client: long enough to be unguessable, short enough to log. */
export const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;
// Why a recently ended session ended, so a late request for it learns the code instead of silently
// starting a new session the client does not know about. Bounded; old entries go first.
const MAX_ENDED_SESSIONS = 10_000;
const ENDED_SESSION_TTL_MS = 5 * 60_000;
// SSE comments keep proxies from timing the stream out; most cut idle connections at 30–60 s.
const MAX_SWEEP_MS = 5_000;

interface Entry {
  peer: HttpPeer;
  session: SyncSession;
  address: string;
}

/**
 * The HTTP fallback transport's sessions: a SyncSession per client-chosen session id, carried by a
 * Server-Sent Events stream (server → client) and POSTed batches (client → server), so a client whose
 * network blocks WebSocket upgrades is a full peer of the room. A session belongs to no TCP connection:
 * any request naming it (with the same user's credential) continues it.
 */
export class HttpSyncEndpoint {
  private readonly sessions = new Map<string, Entry>();
  private readonly ended = new Map<string, { error: TandemError; at: number }>();
  private readonly log: Logger;
  private readonly sweeper: NodeJS.Timeout;
  private readonly stopWatchingAccess: () => void;
  private readonly hooks: HttpPeerHooks;
  private nextPeerId = 1;
  private draining = false;

  constructor(
    private readonly deps: HttpSyncDeps,
    private readonly options: HttpSyncOptions,
  ) {
    this.log = deps.logger.child({ module: 'http-sync' });
    this.hooks = {
      ...reportingHooks(deps.metrics, this.log),
      onBuffered: (delta) => void (deps.metrics.httpBufferedBytesNow += delta),
      onEnd: (peer, error) => this.forget(peer, error),
    };
    this.sweeper = setInterval(() => this.sweep(), Math.min(MAX_SWEEP_MS, options.sessionTimeoutMs / 3));
    this.sweeper.unref();
    this.stopWatchingAccess = deps.access.onChange((room, user) => {
      for (const { session, peer } of this.sessions.values()) {
        if (peer.room === room && peer.user === user) void session.reevaluate();
      }
    });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  stopAccepting(): void {
    this.draining = true;
  }

  /**
   * The session `sessionId` of `room` for `principal`: continued if it is open (its credential renewed
   * when this one lasts longer), started if it is new. Throws the coded reason of a session that ended.
   */
  async resolve(sessionId: string, room: string, principal: Principal, req: IncomingMessage): Promise<HttpPeer> {
    const existing = this.continueSession(sessionId, room, principal);
    if (existing) return existing;
    if (this.draining) throw new TandemError('draining', 'server is shutting down; try again');
    // Authorised here too, so a refusal is an HTTP answer rather than a session that ends at once.
    await this.deps.access.require(principal, room, 'viewer');
    // Two first requests of one session may race (a stream and a poll): the first to get here starts it.
    const raced = this.continueSession(sessionId, room, principal);
    if (raced) return raced;
    const address = clientAddress(req, this.options.trustProxy);
    if (!this.deps.addresses.acquire(address)) {
      throw new TandemError('too_many_connections', 'too many connections from your address');
    }
    const peer = new HttpPeer(this.nextPeerId++, sessionId, room, this.options.maxBufferedBytes, this.hooks);
    peer.authenticate(principal);
    const { registry, access, authenticator, metrics, events, extensions } = this.deps;
    const session = new SyncSession(peer, room, {
      registry,
      access,
      authenticator,
      metrics,
      events,
      extensions,
      log: this.log,
      limits: this.options.limits,
    });
    this.sessions.set(sessionId, { peer, session, address });
    metrics.httpSessions.inc();
    void session.start(principal, address);
    return peer;
  }

  private continueSession(sessionId: string, room: string, principal: Principal): HttpPeer | null {
    const entry = this.sessions.get(sessionId);
    if (!entry) {
      const ended = this.ended.get(sessionId);
      if (ended) throw ended.error;
      return null;
    }
    const { peer, session } = entry;
    if (peer.room !== room) throw new TandemError('invalid_request', 'this session belongs to another room');
    if (peer.user !== principal.user) {
      throw new TandemError('forbidden', 'this session belongs to another user');
    }
    // Each request carries the client's current token: a fresh one extends the session like an
    // in-band refresh on a socket.
    const current = peer.principal?.expiresAt;
    if (current !== undefined && (principal.expiresAt === undefined || principal.expiresAt > current)) {
      peer.authenticate(principal);
      // The new credential may grant less (or more) in this room than the one the session began with.
      void session.reevaluate();
    }
    peer.lastRequestAt = Date.now();
    peer.alive = true;
    return peer;
  }

  /** Applies a POSTed batch of encoded messages, in order, as frames of the session. */
  receive(peer: HttpPeer, frames: Uint8Array[]): void {
    const { session } = this.sessions.get(peer.sessionId) ?? {};
    if (!session) return;
    for (const frame of frames) {
      if (!peer.acceptsInput) return;
      session.onFrame(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), true);
    }
  }

  /** Closes every session (drain); their streams get a `close` event with the code. */
  closeAll(error: TandemError): void {
    for (const { peer } of [...this.sessions.values()]) peer.closeGracefully(error);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.stopWatchingAccess();
  }

  private forget(peer: HttpPeer, error: TandemError | null): void {
    const entry = this.sessions.get(peer.sessionId);
    if (!entry || entry.peer !== peer) return;
    this.sessions.delete(peer.sessionId);
    this.deps.metrics.httpSessions.dec();
    this.deps.addresses.release(entry.address);
    this.ended.set(peer.sessionId, { error: peer.endedWith!, at: Date.now() });
    if (this.ended.size > MAX_ENDED_SESSIONS) this.ended.delete(this.ended.keys().next().value!);
    if (error === null) this.log.debug({ peer: peer.id, room: peer.room }, 'HTTP session closed by the client');
    // Leaving may touch the room's peer list; never from inside the room's own call that ended us.
    queueMicrotask(() => entry.session.onClose());
  }

  private sweep(): void {
    const now = Date.now();
    for (const { peer } of [...this.sessions.values()]) {
      if (peer.hasStream) {
        peer.heartbeat();
      } else if (now - peer.lastRequestAt > this.options.sessionTimeoutMs) {
        this.deps.metrics.refusals.inc({ reason: 'heartbeat_timeout' });
        peer.closeGracefully(
          new TandemError('heartbeat_timeout', `session expired: no request for ${this.options.sessionTimeoutMs} ms`),
        );
      }
    }
    for (const [id, { at }] of this.ended) {
      if (now - at < ENDED_SESSION_TTL_MS) break;
      this.ended.delete(id);
    }
  }
}
