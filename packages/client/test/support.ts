import WebSocket from 'ws';
import * as Y from 'yjs';
import { TandemProvider, type TandemProviderOptions, type WebSocketConstructor } from '../src/index.js';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** A provider on Node's `ws`, with short reconnect steps so tests do not wait long. */
export function provider(url: string, room: string, options: Partial<TandemProviderOptions> = {}): TandemProvider {
  return new TandemProvider({
    url,
    room,
    doc: new Y.Doc(),
    WebSocketPolyfill: NodeWebSocket,
    reconnect: { baseDelayMs: 50, maxDelayMs: 400, restartWindowMs: 300 },
    ...options,
  });
}
