// One client of Tandem's HTTP fallback transport, as the client SDK's HttpSocket drives it: an SSE
// stream (or polls every 3 s), POSTed messages, and a confirmation of what arrived at least every 10 s.
// Used by the load generator's idle scenarios to weigh an HTTP session against a WebSocket.
import http from 'node:http';
import { syncStep1 } from './wire.js';

export type HttpTransport = 'http-stream' | 'http-polling';

const POLL_MS = 3_000;
const CONFIRM_MS = 10_000;
// POSTs share keep-alive connections, as a browser's do; each stream has a connection of its own.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpSession {
  /** Resolves true once the server's sync step 2 arrived (false if the session failed first). */
  synced: Promise<boolean>;
  close(): void;
}

/** Opens a session of `room` on the server at `base` (`ws://host:port`); `opening` are its first messages. */
export function openHttpSession(
  base: string,
  room: string,
  transport: HttpTransport,
  opening: Uint8Array[],
): HttpSession {
  const { hostname, port } = new URL(base);
  const session = `bench${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`.padEnd(20, '0');
  const path = (what: string) => `/v1/sync/${encodeURIComponent(room)}/${what}?session=${session}`;
  let lastId = 0;
  let closed = false;
  let stream: http.ClientRequest | null = null;
  let timer: NodeJS.Timeout | null = null;
  let onSynced: (ok: boolean) => void = () => undefined;
  const synced = new Promise<boolean>((resolve) => (onSynced = resolve));

  const receive = (id: number, data: string): void => {
    if (id <= lastId) return;
    lastId = id;
    const bytes = Buffer.from(data, 'base64');
    if (bytes[0] === 0 && bytes[1] === 1) onSynced(true);
  };

  const post = (body: object): Promise<{ messages?: { id: number; data: string }[] } | null> =>
    new Promise((resolve) => {
      const req = http.request(
        {
          hostname,
          port,
          method: 'POST',
          path: path('messages'),
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(text) as { messages: [] }) : null));
        },
      );
      req.on('error', () => resolve(null));
      req.end(JSON.stringify(body));
    });

  const poll = async (): Promise<void> => {
    if (closed) return;
    const answer = await post({ messages: [], received: lastId, poll: true });
    if (!answer) return onSynced(false);
    for (const m of answer.messages ?? []) receive(m.id, m.data);
    timer = setTimeout(() => void poll(), POLL_MS);
  };

  const messages = opening.map((m) => Buffer.from(m).toString('base64'));
  if (transport === 'http-polling') {
    void post({ messages }).then((answer) => (answer ? poll() : onSynced(false)));
  } else {
    stream = http.get({ hostname, port, path: path('stream'), agent: false }, (res) => {
      if (res.statusCode !== 200) return onSynced(false);
      res.setEncoding('utf8');
      let buffer = '';
      let opened = false;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (id && data) receive(Number(id[1]), data[1]!);
          if (!opened && block.includes('event: open')) {
            opened = true;
            void post({ messages });
          }
        }
      });
      res.on('close', () => onSynced(false));
    });
    stream.on('error', () => onSynced(false));
    timer = setInterval(() => void post({ messages: [], received: lastId }), CONFIRM_MS);
  }

  return {
    synced,
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      stream?.destroy();
    },
  };
}

/** The opening a client sends: sync step 1 for an empty document. */
export const emptySyncStep1 = (): Uint8Array => syncStep1('tandem', '', new Uint8Array([0]));
