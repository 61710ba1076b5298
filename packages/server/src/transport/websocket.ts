import { decodeMessage, ProtocolError, TANDEM_SUBPROTOCOL, type Message } from '@tandem/protocol';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Room } from '../rooms/room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { roomFromSyncUrl } from './room-path.js';
import { SocketPeer } from './socket-peer.js';

export interface SyncEndpointOptions {
  maxMessageBytes: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
}

// Frames that arrive while the room loads are kept (stock clients send step1 and awareness at once),
// but only this many: a client cannot use a slow load to park unbounded data here.
const MAX_FRAMES_BEFORE_JOIN = 64;

/**
 * `ws` on the shared HTTP server at /v1/sync/:room: upgrade, heartbeats, decoding, and handing
 * messages to the room. Knows nothing about documents beyond passing messages through.
 */
export class SyncEndpoint {
  private readonly wss: WebSocketServer;
  private readonly peers = new Set<SocketPeer>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: Logger;
  private nextPeerId = 1;
  private draining = false;

  constructor(
    private readonly server: Server,
    private readonly registry: RoomRegistry,
    private readonly authenticator: Authenticator,
    logger: Logger,
    private readonly options: SyncEndpointOptions,
  ) {
    this.log = logger.child({ module: 'websocket' });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      // Yjs updates are already compact; deflate would cost CPU per peer on the hot path.
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(TANDEM_SUBPROTOCOL) ? TANDEM_SUBPROTOCOL : false),
    });
    server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.checkLiveness(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get connectionCount(): number {
    return this.peers.size;
  }

  /** Refuses new connections from now on. */
  stopAccepting(): void {
    this.draining = true;
  }

  /** Closes every connection with `code` and resolves once they are gone (or cut off). */
  async closeAll(error: TandemError, timeoutMs = 2_000): Promise<void> {
    const closed = [...this.peers].map(
      (peer) =>
        new Promise<void>((resolve) =>
          peer.ws.readyState === peer.ws.CLOSED ? resolve() : peer.ws.once('close', () => resolve()),
        ),
    );
    for (const peer of this.peers) peer.closeGracefully(error);
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    for (const peer of this.peers) peer.ws.terminate();
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.server.off('upgrade', this.onUpgrade);
    this.wss.close();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let room: string | null;
    try {
      room = roomFromSyncUrl(req.url);
    } catch (err) {
      rejectUpgrade(socket, err as TandemError);
      return;
    }
    if (room === null) {
      rejectUpgrade(socket, new TandemError('not_found', 'no WebSocket endpoint here; use /v1/sync/<room>'));
      return;
    }
    if (this.draining) {
      rejectUpgrade(socket, new TandemError('draining', 'server is shutting down; try again'));
      return;
    }
    const roomName = room;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, roomName));
  };

  private onConnection(ws: WebSocket, req: IncomingMessage, roomName: string): void {
    const peer = new SocketPeer(
      this.nextPeerId++,
      ws,
      ws.protocol === TANDEM_SUBPROTOCOL,
      this.options.maxBufferedBytes,
      (p, error) =>
        this.log.info({ peer: p.id, room: roomName, code: error.code, reason: error.message }, 'closing peer'),
    );
    this.peers.add(peer);
    let room: Room | null = null;
    let closed = false;
    const early: Message[] = [];

    const handle = (message: Message): void => {
      if (message.type === 'hello') peer.tandem = true;
      if (room === null) {
        if (early.length >= MAX_FRAMES_BEFORE_JOIN) {
          peer.fail(new TandemError('too_many_pending_messages', 'too many messages before the room was ready'));
        } else {
          early.push(message);
        }
        return;
      }
      room.receive(peer, message);
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      peer.alive = true;
      if (!peer.acceptsInput) return;
      try {
        if (!isBinary)
          throw new TandemError('text_frame', 'text frames are not supported; send binary y-websocket messages');
        handle(decodeMessage(toBytes(data)));
      } catch (err) {
        peer.fail(asTandemError(err, this.log));
      }
    });
    ws.on('pong', () => {
      peer.alive = true;
    });
    ws.on('error', (err) => {
      // ws reports oversized frames here and closes with 1009 itself.
      this.log.info({ peer: peer.id, room: roomName, err: err.message }, 'socket error');
    });
    ws.on('close', () => {
      closed = true;
      this.peers.delete(peer);
      if (room) this.registry.leave(room, peer);
    });

    this.authenticator
      .authenticate(req, roomName)
      .then(() => this.registry.join(roomName, peer))
      .then(
        (joined) => {
          if (closed) {
            this.registry.leave(joined, peer);
            return;
          }
          room = joined;
          try {
            for (const message of early.splice(0)) {
              if (!peer.acceptsInput) break;
              joined.receive(peer, message);
            }
          } catch (err) {
            peer.fail(asTandemError(err, this.log));
          }
        },
        (err: unknown) => peer.fail(asTandemError(err, this.log)),
      );
  }

  private checkLiveness(): void {
    for (const peer of this.peers) {
      if (!peer.alive) {
        this.log.info({ peer: peer.id }, 'heartbeat timeout');
        peer.ws.terminate();
        continue;
      }
      peer.alive = false;
      peer.ws.ping();
    }
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function asTandemError(err: unknown, log: Logger): TandemError {
  if (err instanceof TandemError) return err;
  if (err instanceof ProtocolError) return new TandemError('protocol_error', `${err.code}: ${err.message}`);
  log.error({ err }, 'unexpected error handling a message');
  return new TandemError('internal', 'internal error');
}

function rejectUpgrade(socket: Duplex, error: TandemError): void {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  socket.end(
    `HTTP/1.1 ${error.status} ${error.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
