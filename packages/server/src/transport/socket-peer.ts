import { encodeError } from '@tandem/protocol';
import WebSocket from 'ws';
import type { Principal } from '../auth/authenticator.js';
import { TandemError } from '../errors.js';
import type { SessionPeer } from './session-peer.js';
import { onExpiry } from './expiry-timer.js';

// Close reasons are limited to 123 bytes by RFC 6455.
const MAX_REASON_BYTES = 123;
// A peer that does not complete the closing handshake in time is cut off.
const CLOSE_GRACE_MS = 2_000;

/** What every peer of an endpoint reports to; one object shared by all of them. */
export interface SocketPeerHooks {
  onFail(peer: SocketPeer, error: TandemError): void;
  onSend(): void;
}

/** A WebSocket as a room peer: bounded send buffer, coded closes, liveness, credential expiry. */
export class SocketPeer implements SessionPeer {
  tandem: boolean;
  readonly transport = 'websocket' as const;
  /** Until authenticated the peer is anonymous and read-only; nothing is sent to it before that. */
  user = '';
  readOnly = true;
  principal: Principal | null = null;
  /** Cleared before each ping, set by the pong (or any frame). */
  alive = true;
  private failed = false;
  private cancelExpiry: (() => void) | null = null;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly room: string,
    tandem: boolean,
    private readonly maxBufferedBytes: number,
    private readonly hooks: SocketPeerHooks,
  ) {
    this.tandem = tandem;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN && !this.failed;
  }

  /**
   * Whether frames from the peer are still applied. A failed peer's are not; a peer we are closing
   * for a drain keeps being heard until its closing handshake, so nothing it sent first is lost.
   */
  get acceptsInput(): boolean {
    return !this.failed && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CLOSING);
  }

  /** Adopts a (new) credential: identity and when the session must end. */
  authenticate(principal: Principal): void {
    this.principal = principal;
    this.user = principal.user;
    this.armExpiry(principal.expiresAt);
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) return;
    const buffered = this.ws.bufferedAmount;
    if (buffered > 0 && buffered + frame.length > this.maxBufferedBytes) {
      // Buffering without bound for a slow consumer is how one client takes a server down; it
      // resyncs from scratch when it reconnects. The frame about to be queued counts: checking only
      // what is already queued let one large frame per call past the limit. A frame larger than the
      // limit by itself (a big document's initial sync) still goes out when nothing else is queued.
      this.fail(new TandemError('send_buffer_full', 'client is not reading fast enough'));
      return;
    }
    this.hooks.onSend();
    this.ws.send(frame);
  }

  /** Starts the closing handshake without dropping what the peer already sent. */
  closeGracefully(error: TandemError): void {
    if (this.failed || this.ws.readyState !== WebSocket.OPEN) return;
    this.startClose(error);
  }

  fail(error: TandemError): void {
    if (this.failed) return;
    this.failed = true;
    this.hooks.onFail(this, error);
    if (this.ws.readyState !== WebSocket.OPEN) {
      this.ws.terminate();
      return;
    }
    this.startClose(error);
  }

  /** Stops timers; called when the socket closed. */
  dispose(): void {
    this.cancelExpiry?.();
    this.cancelExpiry = null;
  }

  private armExpiry(expiresAt: number | undefined): void {
    this.dispose();
    if (expiresAt === undefined) return;
    this.cancelExpiry = onExpiry(expiresAt, () => this.fail(new TandemError('unauthenticated', 'token expired')));
  }

  private startClose(error: TandemError): void {
    this.dispose();
    if (this.tandem) this.ws.send(encodeError(error.code, error.message));
    this.ws.close(error.closeCode, truncateReason(error.message));
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= MAX_REASON_BYTES) return reason;
  return bytes
    .subarray(0, MAX_REASON_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
