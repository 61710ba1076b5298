import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/** The unmodified npm y-websocket provider, as an app would use it in Node. */
export function stockProvider(serverUrl: string, room: string, doc = new Y.Doc()): WebsocketProvider {
  return new WebsocketProvider(serverUrl, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
}
