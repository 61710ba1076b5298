import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterThisTest } from './cleanup.js';

/** The unmodified npm y-websocket provider, as an app would use it in Node; destroyed after the test. */
export function stockProvider(serverUrl: string, room: string, doc = new Y.Doc()): WebsocketProvider {
  const provider = new WebsocketProvider(serverUrl, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  afterThisTest(() => provider.destroy());
  return provider;
}
