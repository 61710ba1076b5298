import { afterThisTest } from './cleanup.js';

/** A minimal SSE reader over fetch: collects parsed events until closed. */
export class SseClient {
  readonly events: { id: string; event: string; data: unknown }[] = [];
  private readonly controller = new AbortController();
  readonly done: Promise<void>;
  status = 0;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.done = this.run(url, headers).catch(() => undefined);
    afterThisTest(() => this.close());
  }

  close(): void {
    this.controller.abort();
  }

  private async run(url: string, headers: Record<string, string>): Promise<void> {
    const res = await fetch(url, { headers, signal: this.controller.signal });
    this.status = res.status;
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let split: number;
      while ((split = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const fields = Object.fromEntries(
          block
            .split('\n')
            .filter((l) => l && !l.startsWith(':'))
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
        );
        if (fields.data !== undefined) {
          this.events.push({ id: fields.id ?? '', event: fields.event ?? 'message', data: parseData(fields.data) });
        }
      }
    }
  }
}

/** JSON data parsed; anything else (the sync transport's base64 frames) as the string it is. */
function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
