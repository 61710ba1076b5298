import { TandemProvider, type WebSocketConstructor } from '@tandem/client';
import { act, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { TandemServer } from '../../server/src/server.js';
import { startTestServer } from '../../server/test/support/server.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** A real server for this test, drained when it finishes. */
export async function testServer(config: Parameters<typeof startTestServer>[0] = {}): Promise<TandemServer> {
  const server = await startTestServer(config);
  onTestFinished(async () => {
    await server.drain();
  });
  return server;
}

/** A plain provider in the same room (another user), destroyed when the test finishes. */
export function remote(url: string, room: string): TandemProvider {
  const p = new TandemProvider({ url, room, doc: new Y.Doc(), WebSocketPolyfill: NodeWebSocket });
  onTestFinished(() => p.destroy());
  return p;
}

/** Renders into a fresh container, unmounted when the test finishes. */
export function mount(node: ReactNode): HTMLElement {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  act(() => root.render(node));
  onTestFinished(() => act(() => root.unmount()));
  return container;
}

export const text = (container: HTMLElement, id: string): string =>
  container.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
