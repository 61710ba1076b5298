import { signWebhook } from '../events/webhook-sender.js';
import { TandemError } from '../errors.js';
import type { Extension, InitialContent } from './extension.js';

export interface LoadUrlOptions {
  url: string;
  /** Signs each request like a webhook (`Tandem-Signature` over `<t>.<room>`). */
  secret: string | undefined;
  timeoutMs: number;
  /** Where `text/plain` answers go. */
  textField: string;
  /** The largest answer read (`--max-document-bytes`); the request is aborted past it. */
  maxBytes: number;
}

/** After a failed load, the same room waits this long before the backend is asked again; doubling. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
/** Rooms whose loads failed, remembered for their backoff; the oldest are forgotten past this. */
const MAX_REMEMBERED_FAILURES = 10_000;

/**
 * `--load-url`: the onLoadDocument hook over HTTP, for backends in any language. `GET <url>?room=<name>`
 * when a room is first created; the answer is imported by its content type (see docs/extensions.md).
 * 404 means start empty; anything else that is not a 200 fails the load, so peers are refused (1013)
 * rather than given an empty document that would then overwrite the backend's copy.
 *
 * The backend is input like a client: its answer is read up to `maxBytes` and the request aborted past
 * that, and a room whose load failed is not asked for again until a backoff has passed (every
 * reconnecting client would otherwise send one request).
 */
export function loadUrlExtension(options: LoadUrlOptions): Extension {
  const failures = new Map<string, { count: number; retryAt: number; reason: string }>();
  const failed = (room: string, reason: string): TandemError => {
    const count = (failures.get(room)?.count ?? 0) + 1;
    failures.delete(room); // re-inserted last: the map's order is the order to forget in
    if (failures.size >= MAX_REMEMBERED_FAILURES) failures.delete(failures.keys().next().value!);
    const waitMs = Math.min(FIRST_RETRY_MS * 2 ** (count - 1), MAX_RETRY_MS);
    failures.set(room, { count, retryAt: Date.now() + waitMs, reason });
    return new TandemError('room_load_failed', reason);
  };
  return {
    name: 'load-url',
    async onLoadDocument({ room }): Promise<InitialContent | null> {
      const previous = failures.get(room);
      if (previous && previous.retryAt > Date.now()) {
        const inS = Math.ceil((previous.retryAt - Date.now()) / 1000);
        throw new TandemError('room_load_failed', `${previous.reason}; asked again in ${inS} s`);
      }
      const url = new URL(options.url);
      url.searchParams.set('room', room);
      const headers: Record<string, string> = { accept: 'application/octet-stream, application/json, text/plain' };
      if (options.secret)
        headers['tandem-signature'] = signWebhook(options.secret, room, Math.floor(Date.now() / 1000));
      // One signal for the whole exchange, body included: a backend that stalls mid-body is cut off too.
      const signal = AbortSignal.timeout(options.timeoutMs);
      let res: Response;
      try {
        res = await fetch(url, { headers, signal, redirect: 'error' });
      } catch (err) {
        throw failed(room, `--load-url did not answer: ${(err as Error).message}`);
      }
      try {
        if (res.status === 404) {
          failures.delete(room);
          return null;
        }
        if (res.status !== 200) throw failed(room, `--load-url answered ${res.status}`);
        const type = (res.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
        if (!['application/octet-stream', 'text/plain', 'application/json'].includes(type)) {
          throw failed(room, `--load-url answered an unsupported content type "${type}"`);
        }
        const body = await readCapped(res, options.maxBytes).catch((err: unknown) => {
          throw failed(room, (err as Error).message);
        });
        const content = parse(type, body, options.textField);
        if (content === undefined) throw failed(room, '--load-url JSON must be {yjs}, {text, field} or {json}');
        failures.delete(room);
        return content;
      } finally {
        // Whatever was not read is abandoned: the connection is closed rather than left to the backend.
        await res.body?.cancel().catch(() => undefined);
      }
    },
  };
}

/** The whole body, refused (and the read aborted) as soon as it passes `maxBytes`. */
async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (): Error =>
    new Error(`--load-url answer is larger than --max-document-bytes (${maxBytes} bytes); not loaded`);
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return Buffer.concat(chunks);
      size += value.length;
      if (size > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

function parse(type: string, body: Uint8Array, textField: string): InitialContent | undefined {
  if (type === 'application/octet-stream') return new Uint8Array(body);
  const text = Buffer.from(body).toString('utf8');
  if (type === 'text/plain') return { text, field: textField };
  let json: { yjs?: unknown; text?: unknown; field?: unknown; json?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    return undefined;
  }
  if (typeof json.yjs === 'string') return { yjs: json.yjs };
  if (typeof json.text === 'string') {
    return { text: json.text, field: typeof json.field === 'string' ? json.field : textField };
  }
  if (json.json && typeof json.json === 'object') return { json: json.json as Record<string, unknown> };
  return undefined;
}
