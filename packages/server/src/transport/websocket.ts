import { TANDEM_SUBPROTOCOL } from '@tandem/protocol';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import type { RoomAccess } from '../auth/room-access.js';
import { TandemError } from '../errors.js';
import type { EventService } from '../events/event-service.js';
import type { ExtensionRunner } from '../extensions/extension-runner.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { clientAddress, type AddressCounter } from './client-address.js';
import { originAllowed } from './origin.js';
import { roomFromSyncUrl } from './room-path.js';
import { reportingHooks } from './session-peer.js';
import { SocketPeer, type SocketPeerHooks } from './socket-peer.js';
import { SyncSession, type SessionDeps, type SessionLimits } from './sync-session.js';

export interface SyncEndpointOptions extends SessionLimits {
  maxMessageBytes: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
  corsOrigin: string[];
  trustProxy: boolean;
}

export interface SyncEndpointDeps {
  registry: RoomRegistry;
  access: RoomAccess;
  authenticator: Authenticator;
  metrics: Metrics;
  logger: Logger;
  events: EventService;
  extensions: ExtensionRunner;
  /** Live connections per client address, shared with SSE streams. */
  addresses: AddressCounter;
}

/**
 * ws's WebSocket with slots for what its listeners need. Every socket then shares one set of listener
 * functions (called with the socket as `this`) instead of carrying its own closures: an idle
 * connection's memory is mostly such per-socket objects.
 */
class SessionSocket extends WebSocket {
  session: SyncSession<SocketPeer> | null = null;
  endpoint: SyncEndpoint | null = null;
  /** The client address counted against the per-address limit; null when the connection was refused. */
  address: string | null = null;
}

// ws calls listeners with the socket as `this`; every socket of a SyncEndpoint is a SessionSocket.
function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as SessionSocket).session!.onFrame(data, isBinary);
}
function onSocketPong(this: WebSocket): void {
  (this as SessionSocket).session!.peer.alive = true;
}
function onSocketError(this: WebSocket, err: Error): void {
  (this as SessionSocket).endpoint!.socketError(this as SessionSocket, err);
}
function onSocketClose(this: WebSocket): void {
  (this as SessionSocket).endpoint!.socketClosed(this as SessionSocket);
}

/**
 * `ws` on the shared HTTP server at /v1/sync/:room: upgrade checks, heartbeats, and one SyncSession
 * per socket. Knows nothing about documents.
 */
export class SyncEndpoint {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<SyncSession<SocketPeer>>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: Logger;
  private readonly addresses: AddressCounter;
  private readonly stopWatchingAccess: () => void;
  private nextPeerId = 1;
  private draining = false;
  private readonly sessionDeps: SessionDeps;
  private readonly peerHooks: SocketPeerHooks;

  constructor(
    private readonly server: Server,
    private readonly deps: SyncEndpointDeps,
    private readonly options: SyncEndpointOptions,
  ) {
    this.log = deps.logger.child({ module: 'websocket' });
    this.sessionDeps = {
      registry: deps.registry,
      access: deps.access,
      authenticator: deps.authenticator,
      metrics: deps.metrics,
      log: this.log,
      limits: options,
      events: deps.events,
      extensions: deps.extensions,
    };
    this.peerHooks = reportingHooks(deps.metrics, this.log);
    this.addresses = deps.addresses;
    this.wss = new WebSocketServer({
      noServer: true,
      WebSocket: SessionSocket,
      // this.sessions tracks connections; ws's own tracking would add a Set entry and a listener each.
      clientTracking: false,
      maxPayload: options.maxMessageBytes,
      // Yjs updates are already compact; deflate would cost CPU per peer on the hot path.
      perMessageDeflate: false,
      // Select tandem.v1 (extensions) or tandem.auth (a stock client passing its token as a
      // subprotocol); never echo the token entry itself.
      handleProtocols: (protocols) =>
        protocols.has(TANDEM_SUBPROTOCOL) ? TANDEM_SUBPROTOCOL : protocols.has('tandem.auth') ? 'tandem.auth' : false,
    });
    server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.checkLiveness(), options.heartbeatMs);
    this.heartbeat.unref();
    this.stopWatchingAccess = deps.access.onChange((room, user) => {
      for (const s of this.sessions) if (s.roomName === room && s.peer.user === user) void s.reevaluate();
    });
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Refuses new connections from now on. */
  stopAccepting(): void {
    this.draining = true;
  }

  /** Closes every connection gracefully and resolves once they are gone (or cut off). */
  async closeAll(error: TandemError, timeoutMs = 2_000): Promise<void> {
    const peers = [...this.sessions].map((s) => s.peer);
    const closed = peers.map(
      (peer) =>
        new Promise<void>((resolve) =>
          peer.ws.readyState === peer.ws.CLOSED ? resolve() : peer.ws.once('close', () => resolve()),
        ),
    );
    for (const peer of peers) peer.closeGracefully(error);
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    for (const peer of peers) peer.ws.terminate();
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.stopWatchingAccess();
    this.server.off('upgrade', this.onUpgrade);
    this.wss.close();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let room: string | null;
    try {
      room = roomFromSyncUrl(req.url);
      if (room === null) throw new TandemError('not_found', 'no WebSocket endpoint here; use /v1/sync/<room>');
      if (this.draining) throw new TandemError('draining', 'server is shutting down; try again');
      if (this.deps.authenticator.usesCookies && !originAllowed(req, this.options.corsOrigin)) {
        throw new TandemError('origin_not_allowed', 'this Origin may not open cookie-authenticated connections');
      }
    } catch (err) {
      const error = err as TandemError;
      this.deps.metrics.refusals.inc({ reason: error.code });
      rejectUpgrade(socket, error);
      return;
    }
    const roomName = room;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, roomName));
  };

  private onConnection(ws: WebSocket, req: IncomingMessage, roomName: string): void {
    const socket = ws as SessionSocket;
    const { metrics } = this.deps;
    const peer = new SocketPeer(
      this.nextPeerId++,
      socket,
      roomName,
      socket.protocol === TANDEM_SUBPROTOCOL,
      this.options.maxBufferedBytes,
      this.peerHooks,
    );
    const session = new SyncSession(peer, roomName, this.sessionDeps);
    const address = clientAddress(req, this.options.trustProxy);
    const admitted = this.addresses.acquire(address);
    socket.session = session;
    socket.endpoint = this;
    socket.address = admitted ? address : null;
    this.sessions.add(session);
    metrics.connections.inc();

    socket.on('message', onSocketMessage);
    socket.on('pong', onSocketPong);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);

    if (!admitted) {
      peer.fail(new TandemError('too_many_connections', 'too many connections from your address'));
      return;
    }
    void session.start(req, address);
  }

  /** @internal Called by the socket's shared 'error' listener. */
  socketError(socket: SessionSocket, err: Error): void {
    // ws reports oversized frames here and closes with 1009 itself.
    if (/max payload/i.test(err.message)) this.deps.metrics.refusals.inc({ reason: 'message_too_big' });
    this.log.info({ peer: socket.session!.peer.id, room: socket.session!.roomName, err: err.message }, 'socket error');
  }

  /** @internal Called by the socket's shared 'close' listener. */
  socketClosed(socket: SessionSocket): void {
    const session = socket.session!;
    this.sessions.delete(session);
    this.deps.metrics.connections.dec();
    if (socket.address !== null) this.addresses.release(socket.address);
    session.onClose();
  }

  private checkLiveness(): void {
    for (const { peer } of this.sessions) {
      if (!peer.alive) {
        this.log.info({ peer: peer.id }, 'heartbeat timeout');
        this.deps.metrics.refusals.inc({ reason: 'heartbeat_timeout' });
        peer.ws.terminate();
        continue;
      }
      peer.alive = false;
      peer.ws.ping();
    }
  }
}

function rejectUpgrade(socket: Duplex, error: TandemError): void {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  socket.end(
    `HTTP/1.1 ${error.status} ${error.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
