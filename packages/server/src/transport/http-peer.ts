import { encodeError } from '@tandem/protocol';
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/authenticator.js';
import { TandemError } from '../errors.js';
import { onExpiry } from './expiry-timer.js';
import type { PresenceFeed } from '../rooms/presence-feed.js';
import type { SessionPeer } from './session-peer.js';

/** A frame as the client receives it: numbered per session, base64 as SSE and JSON carry it. */
export interface NumberedFrame {
  id: number;
  data: string;
}

/** One frame waiting for the client to confirm it. Broadcast frames are shared by every session. */
interface OutboxEntry {
  id: number;
  frame: Uint8Array;
  /** How often it went out (on a stream, or in a poll's answer). */
  sends: number;
}

/** What every HTTP peer reports to; one object shared by all of them. */
export interface HttpPeerHooks {
  onFail(peer: HttpPeer, error: TandemError): void;
  onSend(): void;
  /** The bytes held for confirmation grew (or, negative, shrank) by `delta`. */
  onBuffered(delta: number): void;
  /** The session is over (failed, expired, closed by the client): forget it. */
  onEnd(peer: HttpPeer, error: TandemError | null): void;
}

/**
 * How often one frame may go out: once, then again after each of the client's stream resumes (it
 * makes three in a row at most) — never a fifth time. A client that asks for the same frames again
 * and again (a poll that never confirms, a stream re-attached from id 0) would otherwise make the server
 * send many times what it holds.
 */
export const MAX_SENDS_PER_FRAME = 4;
/** Presence catch-ups remembered to learn which version a confirmed id stands for. */
const PRESENCE_MARKS = 8;

/**
 * The HTTP fallback's room peer. Frames for the client are numbered and kept in an outbox until the
 * client confirms it has them (`received` on its next POST, or `Last-Event-ID` when its stream
 * reconnects), so a dropped stream or a poll misses nothing. Three bounds keep a client from making
 * the server hold or send much more than it asked for: the outbox holds at most `maxBufferedBytes`
 * (else `send_buffer_full`, like a socket's send buffer), a frame goes out at most MAX_SENDS_PER_FRAME
 * times (else `resend_limit`), and presence is not kept per frame at all: the room's PresenceFeed says
 * what changed since the version the client confirmed.
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
  private presence: PresenceFeed | null = null;
  /** The presence version the client confirmed having, and the one it has been sent. */
  private presenceConfirmed = 0;
  private presenceSent = 0;
  /** [frame id, presence version] of recent presence frames, newest last. */
  private presenceMarks: number[] = [];
  /** Catch-ups sent while an earlier one is unconfirmed (a client asking again without confirming). */
  private presenceResends = 0;
  private readonly streamLimit: number;

  constructor(
    readonly id: number,
    readonly sessionId: string,
    readonly room: string,
    private readonly maxBufferedBytes: number,
    private readonly hooks: HttpPeerHooks,
  ) {
    // A stream carries base64: 4 characters for 3 bytes, plus the SSE framing.
    this.streamLimit = Math.ceil(maxBufferedBytes / 3) * 4 + 64 * 1024;
  }

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
    if (this.outboxBytes > 0 && this.outboxBytes + frame.byteLength > this.maxBufferedBytes) {
      this.fail(new TandemError('send_buffer_full', 'client is not confirming what it received'));
      return;
    }
    const entry: OutboxEntry = { id: this.nextId++, frame, sends: 0 };
    this.outbox.push(entry);
    this.outboxBytes += frame.byteLength;
    this.hooks.onBuffered(frame.byteLength);
    this.hooks.onSend();
    if (!this.stream || !this.streamHasRoom()) return;
    entry.sends = 1;
    this.stream.write(sseMessage(entry.id, base64(frame)));
  }

  sendPresence(feed: PresenceFeed, delta: Uint8Array | null): void {
    if (this.ended) return;
    this.presence = feed;
    if (!this.stream) return; // the next poll or stream catches up from the feed
    this.hooks.onSend();
    if (delta !== null && this.presenceSent === feed.version - 1) {
      if (!this.streamHasRoom()) return;
      const id = this.nextId++;
      this.markPresence(id, feed.version);
      this.stream.write(sseMessage(id, base64(delta)));
      return;
    }
    const frame = this.presenceCatchUp();
    if (frame && this.streamHasRoom()) this.stream.write(sseMessage(frame.id, frame.data));
  }

  /** The client has every frame up to `id`: they need not be kept for a resume any more. */
  confirm(id: number): void {
    let n = 0;
    let bytes = 0;
    while (n < this.outbox.length && this.outbox[n]!.id <= id) bytes += this.outbox[n++]!.frame.byteLength;
    if (n > 0) {
      this.outbox.splice(0, n);
      this.outboxBytes -= bytes;
      this.hooks.onBuffered(-bytes);
    }
    const marks = this.presenceMarks;
    for (let i = marks.length - 2; i >= 0; i -= 2) {
      if (marks[i]! > id) continue;
      if (marks[i + 1]! > this.presenceConfirmed) {
        this.presenceConfirmed = marks[i + 1]!;
        this.presenceResends = 0;
      }
      marks.splice(0, i + 2);
      break;
    }
  }

  /**
   * Frames after `id`, for a poll: the outbox's, then what changed in the room's presence since the
   * client's confirmed version. Throws `resend_limit` once the client asked for the same frames too often.
   */
  framesAfter(id: number): NumberedFrame[] {
    const frames: NumberedFrame[] = [];
    for (const entry of this.outbox) {
      if (entry.id <= id) continue;
      if (!this.countSend(entry)) throw this.ended!;
      frames.push({ id: entry.id, data: base64(entry.frame) });
    }
    const presence = this.presenceCatchUp();
    if (this.ended) throw this.ended;
    if (presence) frames.push(presence);
    return frames;
  }

  /**
   * Makes `res` (already answered with the SSE head) the session's stream, replacing an older one:
   * first what the client lacks after `lastEventId`, then live frames.
   */
  attach(res: ServerResponse, lastEventId: number): void {
    this.lastRequestAt = Date.now();
    const old = this.stream;
    this.stream = res;
    // A replaced stream is useless; one its reader never drained still holds what was written to it.
    if (old && old !== res) {
      if (old.writableLength > 0) old.destroy();
      else old.end();
    }
    res.once('close', () => {
      if (this.stream === res) this.stream = null;
      this.lastRequestAt = Date.now();
    });
    this.confirm(lastEventId);
    res.write(`retry: 1000\nevent: open\ndata: ${JSON.stringify({ session: this.sessionId })}\n\n`);
    for (const entry of this.outbox) {
      if (!this.countSend(entry) || !this.streamHasRoom()) return;
      res.write(sseMessage(entry.id, base64(entry.frame)));
    }
    const presence = this.presenceCatchUp();
    if (presence && this.streamHasRoom()) res.write(sseMessage(presence.id, presence.data));
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

  /** Counts one more sending of `entry`; false (and the session ended) past the limit. */
  private countSend(entry: OutboxEntry): boolean {
    if (entry.sends >= MAX_SENDS_PER_FRAME) {
      this.fail(new TandemError('resend_limit', `the client asked for the same messages ${entry.sends + 1} times`));
      return false;
    }
    entry.sends++;
    return true;
  }

  /** A stream whose reader does not keep up is closed rather than buffered for without bound. */
  private streamHasRoom(): boolean {
    if (this.stream && this.stream.writableLength > this.streamLimit) {
      this.fail(new TandemError('send_buffer_full', 'client is not reading its stream fast enough'));
      return false;
    }
    return true;
  }

  /**
   * The presence the client lacks since the version it confirmed, as a numbered frame (null when
   * nothing changed). Sent from the same confirmed version again counts as a resend.
   */
  private presenceCatchUp(): NumberedFrame | null {
    const feed = this.presence;
    if (!feed || (feed.version === this.presenceConfirmed && this.presenceConfirmed > 0)) return null;
    if (this.presenceSent > this.presenceConfirmed && ++this.presenceResends >= MAX_SENDS_PER_FRAME) {
      this.fail(new TandemError('resend_limit', 'the client asked for the same presence again and again'));
      return null;
    }
    const frame = feed.changedSince(this.presenceConfirmed);
    if (!frame) {
      // Nothing changed since the confirmed version, and nothing is in flight: a client at that
      // version is as up to date as the feed.
      if (this.presenceMarks.length === 0) this.presenceConfirmed = this.presenceSent = feed.version;
      return null;
    }
    const id = this.nextId++;
    this.markPresence(id, feed.version);
    return { id, data: base64(frame) };
  }

  private markPresence(id: number, version: number): void {
    this.presenceSent = version;
    this.presenceMarks.push(id, version);
    if (this.presenceMarks.length > 2 * PRESENCE_MARKS) this.presenceMarks.splice(0, 2);
  }

  private end(error: TandemError | null): void {
    if (this.ended) return;
    this.ended = error ?? new TandemError('session_closed', 'this session was closed by the client');
    this.dispose();
    this.hooks.onBuffered(-this.outboxBytes);
    this.outbox.length = 0;
    this.outboxBytes = 0;
    this.presence = null;
    const stream = this.stream;
    this.stream = null;
    if (stream && error) {
      stream.write(sseMessage(this.nextId++, base64(encodeError(error.code, error.message))));
      stream.end(closeEvent(error));
    } else {
      stream?.end();
    }
    this.hooks.onEnd(this, error);
  }
}

// Broadcast frames reach every session of a room in one loop: each is encoded once, not per session.
let lastFrame: Uint8Array | null = null;
let lastText = '';
let forgetScheduled = false;
const forget = (): void => {
  lastFrame = null;
  lastText = '';
  forgetScheduled = false;
};

function base64(frame: Uint8Array): string {
  if (frame !== lastFrame) {
    lastText = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
    lastFrame = frame;
    if (!forgetScheduled) {
      forgetScheduled = true;
      queueMicrotask(forget);
    }
  }
  return lastText;
}

function sseMessage(id: number, data: string): string {
  return `id: ${id}\ndata: ${data}\n\n`;
}

/** The SSE `close` event: the session is over, with the same code a socket would have closed with. */
export function closeEvent(error: TandemError): string {
  return `event: close\ndata: ${JSON.stringify(sessionClosedBody(error))}\n\n`;
}

/** How a closed session is reported, on the stream and as a POST's answer. */
export function sessionClosedBody(error: TandemError): { error: { code: string; message: string; closeCode: number } } {
  return { error: { code: error.code, message: error.message, closeCode: error.closeCode } };
}
