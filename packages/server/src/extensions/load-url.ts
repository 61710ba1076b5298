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
}

/**
 * `--load-url`: the onLoadDocument hook over HTTP, for backends in any language. `GET <url>?room=<name>`
 * when a room is first created; the answer is imported by its content type (see docs/extensions.md).
 * 404 means start empty; anything else that is not a 200 fails the load, so peers are refused (1013)
 * rather than given an empty document that would then overwrite the backend's copy.
 */
export function loadUrlExtension(options: LoadUrlOptions): Extension {
  return {
    name: 'load-url',
    async onLoadDocument({ room }): Promise<InitialContent | null> {
      const url = new URL(options.url);
      url.searchParams.set('room', room);
      const headers: Record<string, string> = { accept: 'application/octet-stream, application/json, text/plain' };
      if (options.secret)
        headers['tandem-signature'] = signWebhook(options.secret, room, Math.floor(Date.now() / 1000));
      let res: Response;
      try {
        res = await fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs), redirect: 'error' });
      } catch (err) {
        throw new TandemError('room_load_failed', `--load-url did not answer: ${(err as Error).message}`);
      }
      if (res.status === 404) return null;
      if (res.status !== 200) throw new TandemError('room_load_failed', `--load-url answered ${res.status}`);
      const type = (res.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
      if (type === 'application/octet-stream') return new Uint8Array(await res.arrayBuffer());
      if (type === 'text/plain') return { text: await res.text(), field: options.textField };
      if (type === 'application/json') {
        const body = (await res.json()) as { yjs?: unknown; text?: unknown; field?: unknown; json?: unknown };
        if (typeof body.yjs === 'string') return { yjs: body.yjs };
        if (typeof body.text === 'string') {
          return { text: body.text, field: typeof body.field === 'string' ? body.field : options.textField };
        }
        if (body.json && typeof body.json === 'object') return { json: body.json as Record<string, unknown> };
        throw new TandemError('room_load_failed', '--load-url JSON must be {yjs}, {text, field} or {json}');
      }
      throw new TandemError('room_load_failed', `--load-url answered an unsupported content type "${type}"`);
    },
  };
}
