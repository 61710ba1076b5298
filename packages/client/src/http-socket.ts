import { closeCodeForStatus, TANDEM_SUBPROTOCOL } from '@tandem/protocol';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { fromBase64, toBase64 } from 'lib0/buffer';
import type { WebSocketLike } from './websocket-like.js';

export interface HttpSocketOptions {
  /** Base URL of the server's HTTP API, e.g. `http://localhost:1234`. */
  httpUrl: string;
  room: string;
  params: Record<string, string>;
  /** The current token (asked before every request, so a refreshed one is used at once). */
  token: () => string | undefined;
  /** How often to poll once the stream turned out not to work (ms). */
  pollIntervalMs: number;
  /** A stream that has not delivered its `open` event by then is taken as buffered: poll instead (ms). */
  streamOpenTimeoutMs: number;
  /** With a stream, how long without a request before an empty one confirms what arrived (ms). */
  heartbeatMs: number;
  /** Skip the stream and poll from the start (it was found buffered on this network before). */
  poll: boolean;
  fetch?: typeof fetch;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;
// Base64 characters per POST: the server takes a batch of up to one largest message.
const MAX_BATCH_CHARS = 512 * 1024;
const MAX_BATCH_MESSAGES = 256;
// A stream that drops after it opened is resumed this many times in a row before the session is given up.
const STREAM_RESUMES = 3;

function sessionId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The HTTP fallback transport behind the WebSocket interface the provider already speaks, so switching
 * transports is a reconnect like any other. One session of the server's `/v1/sync/:room/stream` (SSE,
 * server → client) and `/messages` (POSTed batches, client → server). Frames are numbered by the server
 * and each is delivered once: a dropped stream resumes from the last id, and polling (when a proxy
 * buffers the stream) asks for what came after it. Refusals close with the socket's close codes.
 */
export class HttpSocket implements WebSocketLike {
  binaryType = 'arraybuffer';
  readyState = CONNECTING;
  readonly protocol = TANDEM_SUBPROTOCOL;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  /** Called once the socket has fallen back to polling. */
  onpolling: (() => void) | null = null;
  polling = false;
  private readonly session = sessionId();
  private readonly fetch: typeof fetch;
  private lastId = 0;
  private outgoing: string[] = [];
  private posting = false;
  private pollDue = false;
  private stream: AbortController | null = null;
  private streamResumes = 0;
  private openTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastPostAt = 0;

  constructor(private readonly options: HttpSocketOptions) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    if (options.poll) {
      this.startPolling();
    } else {
      void this.openStream();
      this.openTimer = setTimeout(() => {
        if (this.readyState === CONNECTING) this.startPolling();
      }, options.streamOpenTimeoutMs);
    }
  }

  send(data: Uint8Array): void {
    if (this.readyState !== OPEN) return;
    this.outgoing.push(toBase64(data));
    // Everything sent in one turn goes in one POST.
    if (this.outgoing.length === 1) queueMicrotask(() => void this.flush());
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === CLOSED) return;
    // Tells the server at once, so our presence goes now rather than at the session timeout.
    this.post({ messages: [], close: true }, true).catch(() => undefined);
    this.closeWith(code, reason);
  }

  private url(path: 'stream' | 'messages', extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({ ...this.options.params, session: this.session, ...extra });
    const base = this.options.httpUrl.replace(/\/+$/, '');
    return `${base}/v1/sync/${encodeURIComponent(this.options.room)}/${path}?${params}`;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const token = this.options.token();
    return token === undefined ? extra : { ...extra, authorization: `Bearer ${token}` };
  }

  private async openStream(): Promise<void> {
    const controller = new AbortController();
    this.stream = controller;
    const headers = this.headers({ accept: 'text/event-stream' });
    if (this.lastId > 0) headers['last-event-id'] = String(this.lastId);
    let res: Response;
    try {
      res = await this.fetch(this.url('stream'), { headers, signal: controller.signal });
    } catch {
      if (!controller.signal.aborted) this.streamLost();
      return;
    }
    if (!res.ok) {
      await this.refused(res);
      return;
    }
    const parser = createParser({ onEvent: (event) => this.onStreamEvent(event) });
    try {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      // A cut connection; handled below like an ended one.
    }
    if (!controller.signal.aborted) this.streamLost();
  }

  private onStreamEvent(event: EventSourceMessage): void {
    if (this.readyState === CLOSED) return;
    if (event.event === 'open') {
      this.streamResumes = 0;
      if (this.readyState === CONNECTING) this.becomeOpen();
      return;
    }
    if (event.event === 'close') {
      const { error } = JSON.parse(event.data) as { error: { message: string; closeCode: number } };
      this.closeWith(error.closeCode, error.message);
      return;
    }
    if (event.id !== undefined) this.deliver(Number(event.id), event.data);
  }

  /** The stream ended without a `close` event: resume it, or poll if it never worked. */
  private streamLost(): void {
    this.stream = null;
    if (this.readyState === CLOSED || this.polling) return;
    if (this.readyState === CONNECTING) {
      this.startPolling();
      return;
    }
    if (++this.streamResumes > STREAM_RESUMES) {
      this.closeWith(1006, 'event stream lost');
      return;
    }
    setTimeout(() => {
      if (this.readyState === OPEN && !this.polling) void this.openStream();
    }, 200 * this.streamResumes);
  }

  private startPolling(): void {
    if (this.polling || this.readyState === CLOSED) return;
    this.polling = true;
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = null;
    this.stream?.abort();
    this.stream = null;
    this.onpolling?.();
    this.schedulePoll(0);
  }

  private schedulePoll(delayMs: number): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.pollDue = true;
      void this.flush();
    }, delayMs);
  }

  private becomeOpen(): void {
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = null;
    this.readyState = OPEN;
    if (!this.polling) {
      this.heartbeatTimer = setInterval(() => {
        if (Date.now() - this.lastPostAt >= this.options.heartbeatMs) void this.flush(true);
      }, this.options.heartbeatMs);
    }
    this.onopen?.({});
  }

  private deliver(id: number, data: string): void {
    if (id <= this.lastId || this.readyState !== OPEN) return;
    this.lastId = id;
    // A copy with its own exact buffer: the provider reads `data` as a whole ArrayBuffer.
    this.onmessage?.({ data: new Uint8Array(fromBase64(data)).buffer });
  }

  /** Sends what is queued (one POST at a time, so the server applies messages in order). */
  private async flush(heartbeat = false): Promise<void> {
    if (this.posting || this.readyState === CLOSED) return;
    if (this.outgoing.length === 0 && !this.pollDue && !heartbeat) return;
    const batch: string[] = [];
    let chars = 0;
    while (this.outgoing.length > 0 && batch.length < MAX_BATCH_MESSAGES) {
      const next = this.outgoing[0]!;
      if (batch.length > 0 && chars + next.length > MAX_BATCH_CHARS) break;
      batch.push(this.outgoing.shift()!);
      chars += next.length;
    }
    const polled = this.polling;
    this.pollDue = false;
    this.posting = true;
    try {
      const res = await this.post({ messages: batch, received: this.lastId, poll: polled });
      if (this.readyState === CLOSED) return;
      if (!res.ok) {
        await this.refused(res);
        return;
      }
      const { messages } = (await res.json()) as { messages: { id: number; data: string }[] };
      if (polled && this.readyState === CONNECTING) this.becomeOpen();
      for (const m of messages) this.deliver(m.id, m.data);
    } catch {
      // What was in the batch is not known to have arrived: a new session resyncs it all.
      this.closeWith(1006, 'request failed');
      return;
    } finally {
      this.posting = false;
    }
    if (polled && !this.pollTimer) this.schedulePoll(this.options.pollIntervalMs);
    if (this.outgoing.length > 0 || this.pollDue) void this.flush();
  }

  private post(body: object, keepalive = false): Promise<Response> {
    this.lastPostAt = Date.now();
    return this.fetch(this.url('messages'), {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(body),
      keepalive,
    });
  }

  private async refused(res: Response): Promise<void> {
    let code = closeCodeForStatus(res.status);
    let reason = `HTTP ${res.status}`;
    try {
      const { error } = (await res.json()) as { error?: { message?: string; closeCode?: number } };
      if (typeof error?.closeCode === 'number') code = error.closeCode;
      if (typeof error?.message === 'string') reason = error.message;
    } catch {
      // not JSON (a proxy's page): the status decides
    }
    this.closeWith(code, reason);
  }

  private closeWith(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    for (const timer of [this.openTimer, this.pollTimer]) if (timer) clearTimeout(timer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.openTimer = this.pollTimer = this.heartbeatTimer = null;
    this.stream?.abort();
    this.stream = null;
    // Like a WebSocket, the close is reported after the call that caused it returns.
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }
}
