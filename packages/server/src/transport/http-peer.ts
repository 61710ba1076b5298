import { encodeError } from '@tandem/protocol';
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/authenticator.js';
import { TandemError } from '../errors.js';
import { onExpiry } from './expiry-timer.js';
import type { SessionPeer } from './session-peer.js';

/** One frame waiting for the client to confirm it: numbered per session, base64 as SSE and JSON carry it. */
export interface OutboxEntry {
  id: number;
  data: string;
}

/** What every HTTP peer reports to; one object shared by all of them. */
export interface HttpPeerHooks {
  onFail(peer: HttpPeer, error: TandemError): void;
  onSend(): void;
  /** The session is over (failed, expired, closed by the client): forget it. */
  onEnd(peer: HttpPeer, error: TandemError | null): void;
}

/**
 * The HTTP fallback's room peer. Frames for the client are numbered and kept in an outbox until the
 * client confirms it has them (`received` on its next POST, or `Last-Event-ID` when its stream
 * reconnects), so a dropped stream or a poll misses nothing. The outbox is bounded like a socket's send
 * buffer: a client that stops confirming is dropped (`send_buffer_full`) and resyncs.
 */
export class HttpPeer implements SessionPeer {
  tandem = true;
  readonly transport = 'http' as const;
  user = '';
  readOnly = true;
  principal: Principal | null = null;
  alive = true;
  /** When the client last made a request; with no stream attached, the session expires from here. */
  lastRequestAt = Date.now();
  private readonly outbox: OutboxEntry[] = [];
  private outboxBytes = 0;
  private nextId = 1;
  private stream: ServerResponse | null = null;
  private ended: TandemError | null = null;
  private cancelExpiry: (() => void) | null = null;

  constructor(
    readonly id: number,
    readonly sessionId: string,
    readonly room: string,
    private readonly maxBufferedBytes: number,
    private readonly hooks: HttpPeerHooks,
  ) {}

  get isOpen(): boolean {
    return this.ended === null;
  }

  get acceptsInput(): boolean {
    return this.ended === null;
  }

  get hasStream(): boolean {
    return this.stream !== null;
  }

  /** Why the session ended; null while it is open. */
  get endedWith(): TandemError | null {
    return this.ended;
  }

  authenticate(principal: Principal): void {
    this.principal = principal;
    this.user = principal.user;
    this.cancelExpiry?.();
    this.cancelExpiry =
      principal.expiresAt === undefined
        ? null
        : onExpiry(principal.expiresAt, () => this.fail(new TandemError('unauthenticated', 'token expired')));
  }

  send(frame: Uint8Array): void {
    if (this.ended) return;
    const data = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
    if (this.outboxBytes > 0 && this.outboxBytes + data.length > this.maxBufferedBytes) {
      this.fail(new TandemError('send_buffer_full', 'client is not confirming what it received'));
      return;
    }
    const entry = { id: this.nextId++, data };
    this.outbox.push(entry);
    this.outboxBytes += data.length;
    this.hooks.onSend();
    if (!this.stream) return;
    // A stream that does not drain holds its own copy of what was sent: bounded like the outbox.
    if (this.stream.writableLength > this.maxBufferedBytes) {
      this.fail(new TandemError('send_buffer_full', 'client is not reading its stream fast enough'));
      return;
    }
    this.stream.write(sseMessage(entry));
  }

  /** The client has every frame up to `id`: they need not be kept for a resume any more. */
  confirm(id: number): void {
    let n = 0;
    while (n < this.outbox.length && this.outbox[n]!.id <= id) this.outboxBytes -= this.outbox[n++]!.data.length;
    if (n > 0) this.outbox.splice(0, n);
  }

  /** Frames after `id`, for a poll. */
  framesAfter(id: number): OutboxEntry[] {
    return this.outbox.filter((e) => e.id > id);
  }

  /**
   * Makes `res` (already answered with the SSE head) the session's stream, replacing an older one:
   * first what the client lacks after `lastEventId`, then live frames.
   */
  attach(res: ServerResponse, lastEventId: number): void {
    this.lastRequestAt = Date.now();
    if (this.stream && this.stream !== res) this.stream.end();
    this.stream = res;
    this.confirm(lastEventId);
    res.write(`retry: 1000\nevent: open\ndata: ${JSON.stringify({ session: this.sessionId })}\n\n`);
    for (const entry of this.outbox) res.write(sseMessage(entry));
    res.once('close', () => {
      if (this.stream === res) this.stream = null;
      this.lastRequestAt = Date.now();
    });
  }

  /** A comment on the stream, so proxies and the client see it is alive. */
  heartbeat(): void {
    this.stream?.write(': ping\n\n');
  }

  /** The client ended the session itself. */
  close(): void {
    this.end(null);
  }

  closeGracefully(error: TandemError): void {
    this.end(error);
  }

  fail(error: TandemError): void {
    if (this.ended) return;
    this.hooks.onFail(this, error);
    this.end(error);
  }

  dispose(): void {
    this.cancelExpiry?.();
    this.cancelExpiry = null;
  }

  private end(error: TandemError | null): void {
    if (this.ended) return;
    this.ended = error ?? new TandemError('session_closed', 'this session was closed by the client');
    this.dispose();
    const stream = this.stream;
    this.stream = null;
    if (stream && error) {
      stream.write(
        sseMessage({ id: this.nextId++, data: Buffer.from(encodeError(error.code, error.message)).toString('base64') }),
      );
      stream.end(closeEvent(error));
    } else {
      stream?.end();
    }
    this.hooks.onEnd(this, error);
  }
}

function sseMessage(entry: OutboxEntry): string {
  return `id: ${entry.id}\ndata: ${entry.data}\n\n`;
}

/** The SSE `close` event: the session is over, with the same code a socket would have closed with. */
export function closeEvent(error: TandemError): string {
  return `event: close\ndata: ${JSON.stringify(sessionClosedBody(error))}\n\n`;
}

/** How a closed session is reported, on the stream and as a POST's answer. */
export function sessionClosedBody(error: TandemError): { error: { code: string; message: string; closeCode: number } } {
  return { error: { code: error.code, message: error.message, closeCode: error.closeCode } };
}
