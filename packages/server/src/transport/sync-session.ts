import {
  decodeMessage,
  encodeAuthDenied,
  encodePong,
  encodePublished,
  type Message,
  type PublishRequest,
  type PublishResult,
} from '@tandem/protocol';
import type { IncomingMessage } from 'node:http';
import type { RawData } from 'ws';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import type { RoomAccess } from '../auth/room-access.js';
import { canWrite } from '../auth/roles.js';
import { TandemError, toTandemError } from '../errors.js';
import { checkAppEvent } from '../events/event-rules.js';
import type { EventService } from '../events/event-service.js';
import type { ConnectionInfo } from '../extensions/extension.js';
import type { ExtensionRunner } from '../extensions/extension-runner.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Room } from '../rooms/room.js';
import { checkUpdate } from '../yjs/update-check.js';
import type * as Y from 'yjs';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { SessionPeer } from './session-peer.js';
import { LatestOnlyThrottle, type ThrottleTarget } from './latest-only-throttle.js';
import { TokenBucket } from './token-bucket.js';

export interface SessionLimits {
  maxUpdatesPerSecond: number;
  updateBurst: number;
  maxAwarenessPerSecond: number;
  awarenessBurst: number;
}

export interface SessionDeps {
  registry: RoomRegistry;
  access: RoomAccess;
  authenticator: Authenticator;
  metrics: Metrics;
  log: Logger;
  limits: SessionLimits;
  events: EventService;
  extensions: ExtensionRunner;
}

// Frames that arrive while the room loads are kept (stock clients send step1 and awareness at once),
// but only this many: a client cannot use a slow load to park unbounded data here.
const MAX_FRAMES_BEFORE_JOIN = 64;
// Each sync step 1 makes the server encode and send the whole diff the client lacks: answered at once
// a few times, then at most one every 5 s (the latest request wins). Stock clients send one per connect.
const SYNC_REQUEST_BURST = 4;
const SYNC_REQUESTS_PER_SECOND = 0.2;

/**
 * One socket's life in one room: authenticate and authorise before any document byte is sent, join,
 * then pass decoded frames to the room under the connection's rate limits. Also follows the
 * credential: in-band token refresh, expiry, and collaborator changes made while connected.
 */
export class SyncSession<P extends SessionPeer = SessionPeer> implements ThrottleTarget<Message> {
  private room: Room | null = null;
  private closed = false;
  /** Frames that arrived before the join finished; allocated only if one does. */
  private early: Message[] | null = null;
  // Created on the first message of their kind: a connection that only reads never needs them.
  private updateBucket: TokenBucket | null = null;
  private awarenessThrottle: LatestOnlyThrottle<Message> | null = null;
  private syncRequestThrottle: LatestOnlyThrottle<Message> | null = null;
  private presenceRequestThrottle: LatestOnlyThrottle<Message> | null = null;
  /** A collaborator change arrived while we were still joining: re-check once joined. */
  private recheckAfterJoin = false;
  /** An update is with the extensions' beforeApplyUpdate; later messages wait behind it, in order. */
  private screening = false;
  private afterScreening: Message[] | null = null;

  constructor(
    readonly peer: P,
    readonly roomName: string,
    private readonly deps: SessionDeps,
  ) {}

  private updateLimit(): TokenBucket {
    const { limits } = this.deps;
    return (this.updateBucket ??= new TokenBucket(limits.maxUpdatesPerSecond, limits.updateBurst));
  }

  private awarenessLimit(): LatestOnlyThrottle<Message> {
    const { limits, metrics } = this.deps;
    return (this.awarenessThrottle ??= new LatestOnlyThrottle(
      limits.maxAwarenessPerSecond,
      limits.awarenessBurst,
      this,
      metrics.awarenessThrottled,
    ));
  }

  private syncRequestLimit(): LatestOnlyThrottle<Message> {
    return (this.syncRequestThrottle ??= new LatestOnlyThrottle(SYNC_REQUESTS_PER_SECOND, SYNC_REQUEST_BURST, this));
  }

  /** A query for every presence state is answered with all of them: throttled like a sync step 1. */
  private presenceRequestLimit(): LatestOnlyThrottle<Message> {
    return (this.presenceRequestThrottle ??= new LatestOnlyThrottle(
      SYNC_REQUESTS_PER_SECOND,
      SYNC_REQUEST_BURST,
      this,
    ));
  }

  /** Hands a message its throttle let through to the room; a refusal closes the peer. */
  deliver(message: Message): void {
    if (!this.room || !this.peer.acceptsInput) return;
    try {
      this.room.receive(this.peer, message);
    } catch (err) {
      this.refuse(err);
    }
  }

  /**
   * Answers a refused message. Mostly by closing the peer; but a stock y-websocket client reconnects
   * after any close and sends the same update again, so for `document_too_large` it stays connected,
   * becomes read-only for this session, and is told with y-protocols' permission-denied message (the
   * provider logs it). Tandem clients are closed (1009) and do not retry that code.
   */
  private refuse(err: unknown): void {
    const error = toTandemError(err, this.deps.log);
    const ownUpdateRefused = error.code === 'document_too_large' || error.code === 'update_rejected';
    if (ownUpdateRefused && !this.peer.tandem && this.room) {
      this.deps.metrics.refusals.inc({ reason: error.code });
      this.deps.log.info({ peer: this.peer.id, room: this.roomName, code: error.code }, 'stock client made read-only');
      this.room.setReadOnly(this.peer, true);
      this.peer.send(encodeAuthDenied(`${error.code}: ${error.message}; your edits here are no longer saved`));
      return;
    }
    this.peer.fail(error);
  }

  /**
   * `credentials` is the upgrade request (authenticated here) or a principal the transport already
   * authenticated; `address` is the client's, charged for the room if this join loads it.
   */
  async start(credentials: IncomingMessage | Principal, address: string): Promise<void> {
    const { authenticator, access, registry, log } = this.deps;
    let joined: Room | null = null;
    try {
      const principal = 'user' in credentials ? credentials : await authenticator.authenticate(credentials);
      const role = await access.require(principal, this.roomName, 'viewer');
      if (this.closed) return;
      this.peer.authenticate(principal);
      this.peer.readOnly = !canWrite(role);
      if (!this.peer.acceptsInput) return; // the credential expired while we checked it
      await this.deps.extensions.connect(this.connectionInfo());
      if (this.closed || !this.peer.acceptsInput) return;
      const room = await registry.join(this.roomName, this.peer, address);
      joined = room;
      // Frames keep queueing in `early` until this.room is set, so checking here keeps their order.
      while (this.recheckAfterJoin && !this.closed) {
        this.recheckAfterJoin = false;
        if (!(await this.applyCurrentRole(room, principal))) break;
      }
      if (this.closed || !this.peer.acceptsInput) {
        // onClose ran (or will run) without a room to leave: leave here.
        registry.leave(room, this.peer);
        return;
      }
      this.room = room;
      // A user's second connection (another tab, or the WebSocket that replaces an HTTP fallback
      // session) is no news to the room: joined and left mark their first and last connection.
      if (room.connectionsOf(principal.user) === 1) {
        this.deps.events.emitPresenceEvent(this.roomName, 'collab.user_joined', principal.user, this.presenceData());
      }
      const early = this.early ?? [];
      this.early = null;
      for (const message of early) {
        if (!this.peer.acceptsInput) break;
        try {
          this.dispatch(message);
        } catch (err) {
          this.refuse(err);
        }
      }
    } catch (err) {
      if (joined && this.room === null) registry.leave(joined, this.peer);
      this.peer.fail(toTandemError(err, log));
    }
  }

  onFrame(data: RawData, isBinary: boolean): void {
    this.peer.alive = true;
    if (!this.peer.acceptsInput) return;
    try {
      if (!isBinary)
        throw new TandemError('text_frame', 'text frames are not supported; send binary y-websocket messages');
      const bytes = toBytes(data);
      this.deps.metrics.countBytesIn(bytes.length);
      const message = decodeMessage(bytes);
      this.deps.metrics.countMessageIn(message.type);
      if (message.type === 'hello') this.peer.tandem = true;
      if (this.room === null) {
        this.early ??= [];
        if (this.early.length >= MAX_FRAMES_BEFORE_JOIN) {
          throw new TandemError('too_many_pending_messages', 'too many messages before the room was ready');
        }
        this.early.push(message);
        return;
      }
      this.dispatch(message);
    } catch (err) {
      this.refuse(err);
    }
  }

  onClose(): void {
    this.closed = true;
    this.peer.dispose();
    this.awarenessThrottle?.cancel();
    this.syncRequestThrottle?.cancel();
    this.presenceRequestThrottle?.cancel();
    if (this.room) {
      this.deps.registry.leave(this.room, this.peer);
      this.deps.extensions.disconnect(this.connectionInfo());
      // A destroyed room was deleted: recording an event would bring it back.
      if (this.room.isDestroyed || this.room.connectionsOf(this.peer.user) > 0) return;
      this.deps.events.emitPresenceEvent(this.roomName, 'collab.user_left', this.peer.user, this.presenceData());
    }
  }

  private connectionInfo(): ConnectionInfo {
    return {
      room: this.roomName,
      user: this.peer.user,
      principal: this.peer.principal!,
      readOnly: this.peer.readOnly,
      transport: this.peer.transport,
    };
  }

  private presenceData(): { name: string | null; readOnly: boolean } {
    return { name: this.peer.principal?.name ?? null, readOnly: this.peer.readOnly };
  }

  /** Re-checks the peer's role after a collaborator change: revoke, downgrade or upgrade live. */
  async reevaluate(): Promise<void> {
    const principal = this.peer.principal;
    if (!this.room) {
      // Still authenticating or joining: the role we are about to act on may already be stale.
      this.recheckAfterJoin = true;
      return;
    }
    if (!principal || !this.peer.acceptsInput) return;
    try {
      await this.applyCurrentRole(this.room, principal);
    } catch (err) {
      this.peer.fail(toTandemError(err, this.deps.log));
    }
  }

  /** Applies the principal's current role in the room; false (and the peer closed) if it has none. */
  private async applyCurrentRole(room: Room, principal: Principal): Promise<boolean> {
    const role = await this.deps.access.roleFor(principal, this.roomName);
    if (role === null) {
      this.peer.fail(new TandemError('forbidden', 'your access to this room was removed'));
      return false;
    }
    room.setReadOnly(this.peer, !canWrite(role));
    return true;
  }

  private dispatch(message: Message): void {
    if (this.screening) {
      (this.afterScreening ??= []).push(message);
      return;
    }
    switch (message.type) {
      case 'sync-step2':
      case 'sync-update':
        if (!this.updateLimit().take()) {
          // Dropping an update would leave the client silently diverged; closing makes it reconnect
          // (with backoff) and resync, so nothing is lost.
          throw new TandemError('rate_limited', 'too many updates; slow down');
        }
        if (this.deps.extensions.checksUpdates && !this.peer.readOnly) {
          this.screen(message.update, message);
          return;
        }
        this.applyUpdate(message);
        return;
      case 'awareness':
        this.awarenessLimit().offer(message);
        return;
      case 'sync-step1':
        this.syncRequestLimit().offer(message);
        return;
      case 'query-awareness':
        this.presenceRequestLimit().offer(message);
        return;
      case 'token':
        void this.refreshToken(message.token);
        return;
      case 'publish':
        void this.publish(message.publish);
        return;
      case 'ping':
        // Counted against the update budget so pings cannot be a flood; an unanswered one is just late.
        if (this.updateLimit().take()) this.peer.send(encodePong());
        return;
      default:
        break;
    }
    this.room!.receive(this.peer, message);
  }

  private applyUpdate(message: Message & { update: Uint8Array }): void {
    this.room!.receive(this.peer, message);
    // The first writer of a new room owns it. An empty update (`[0, 0]`, what a fresh client answers
    // the server's sync step 1 with) writes nothing, so a visit that only reads creates nothing.
    if (message.update.length > 2) this.claimIfNew(this.room!);
  }

  /**
   * Runs the extensions' beforeApplyUpdate on an update, after the checks that always come first
   * (validity, nesting, the room's size limit), and applies it only if none rejects it. Messages that
   * arrive meanwhile wait, so the room sees this peer's messages in the order it sent them.
   */
  private screen(update: Uint8Array, message: Message & { update: Uint8Array }): void {
    const room = this.room!;
    this.screening = true;
    let preview: Y.Doc | null = null;
    const check = async (): Promise<void> => {
      checkUpdate(update);
      room.assertCapacity(update.length);
      await this.deps.extensions.beforeApplyUpdate(
        this.roomName,
        this.peer.user,
        update,
        () => (preview ??= room.documentWith(update)),
      );
    };
    check()
      .then(
        () => {
          if (this.peer.acceptsInput && this.room) this.applyUpdate(message);
        },
        (err: unknown) => this.refuse(err),
      )
      .catch((err: unknown) => this.refuse(err))
      .finally(() => {
        this.screening = false;
        const waiting = this.afterScreening ?? [];
        this.afterScreening = null;
        for (const next of waiting) {
          if (!this.peer.acceptsInput || !this.room) break;
          try {
            this.dispatch(next);
          } catch (err) {
            this.refuse(err);
          }
        }
      });
  }

  private claimIfNew(room: Room): void {
    const principal = this.peer.principal;
    if (this.peer.readOnly || !principal || !room.claimNew()) return;
    this.deps.access.claimIfUnowned(principal, this.roomName, 'editor').catch((err: unknown) => {
      this.deps.log.error({ err, room: this.roomName }, 'could not record the room creator as owner');
    });
  }

  /**
   * An app event over the socket: the same rules, roles, rate and idempotency as `POST …/events`, and
   * one `published` answer (the stored event, or the refusal) matched by `ref`. A refusal does not close
   * the socket.
   */
  private async publish(request: PublishRequest): Promise<void> {
    let result: PublishResult;
    try {
      if (this.peer.readOnly) throw new TandemError('read_only', 'viewers may not publish events');
      if (!this.updateLimit().take()) throw new TandemError('rate_limited', 'too many messages; slow down');
      checkAppEvent(request.type, request.data);
      const screened = await this.deps.events.screen(this.roomName, {
        type: request.type,
        user: this.peer.user,
        data: request.data ?? null,
      });
      const { event } = await this.deps.events.publish(this.roomName, {
        ...screened,
        idempotencyKey: request.idempotencyKey,
      });
      result = { ref: request.ref, event };
    } catch (err) {
      const error = toTandemError(err, this.deps.log);
      result = { ref: request.ref, error: { code: error.code, message: error.message } };
    }
    this.peer.send(encodePublished(result));
  }

  private async refreshToken(token: string): Promise<void> {
    const { authenticator, access } = this.deps;
    if (!authenticator.verifyToken) return; // open and dev auth have no tokens to refresh
    try {
      const principal = await authenticator.verifyToken(token);
      if (principal.user !== this.peer.user) {
        throw new TandemError('forbidden', 'a refreshed token must be for the same user');
      }
      const role = await access.require(principal, this.roomName, 'viewer');
      if (!this.peer.acceptsInput || !this.room) return;
      this.peer.authenticate(principal);
      this.room.setReadOnly(this.peer, !canWrite(role));
    } catch (err) {
      this.peer.fail(toTandemError(err, this.deps.log));
    }
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
