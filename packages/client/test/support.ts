import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterThisTest } from '../../server/test/support/cleanup.js';
import { TandemProvider, type TandemProviderOptions, type WebSocketConstructor } from '../src/index.js';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** A provider on Node's `ws`, with short reconnect steps so tests do not wait long. */
export function provider(url: string, room: string, options: Partial<TandemProviderOptions> = {}): TandemProvider {
  const p = new TandemProvider({
    url,
    room,
    doc: new Y.Doc(),
    WebSocketPolyfill: NodeWebSocket,
    reconnect: { baseDelayMs: 50, maxDelayMs: 400, restartWindowMs: 300 },
    ...options,
  });
  // Destroyed when the test finishes, so no reconnect outlives it.
  afterThisTest(() => p.destroy());
  return p;
}

/** The `ws` WebSocket, counting how many sockets were ever constructed. */
export function countingWebSocket(): { Impl: WebSocketConstructor; count: () => number } {
  let constructed = 0;
  class Counting extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      constructed++;
    }
  }
  return { Impl: Counting as unknown as WebSocketConstructor, count: () => constructed };
}
