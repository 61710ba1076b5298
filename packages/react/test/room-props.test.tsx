// @vitest-environment jsdom
import type { TandemProvider, WebSocketConstructor } from '@tandem/client';
import { act, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { createHmac } from 'node:crypto';
import { SECRET } from '../../server/test/support/auth.js';
import { eventually } from '../../server/test/support/eventually.js';
import { spawnServer } from '../../server/test/support/child-server.js';
import { TandemRoom, useProvider, useSaveState } from '../src/index.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** An HS256 JWT signed with node:crypto: jose refuses jsdom's Uint8Array (another realm's) as a key. */
function token(user: string, role: 'viewer' | 'editor'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: user, rooms: { '**': role }, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

describe('<TandemRoom> props after mount', () => {
  it('a new token prop is used at the next connect, without a new provider', async () => {
    // In a process of its own: jose cannot verify with this jsdom realm's Uint8Array either.
    const server = await spawnServer(['--store', 'memory', '--jwt-secret', SECRET]);
    onTestFinished(() => void server.child.kill('SIGKILL'));
    const providers = new Set<TandemProvider>();
    let current: TandemProvider | null = null;
    function Probe(): ReactNode {
      const provider = useProvider();
      const { state } = useSaveState();
      if (provider) providers.add(provider);
      current = provider;
      return <p data-testid="save">{state}</p>;
    }
    const container = document.createElement('div');
    const root = createRoot(container);
    onTestFinished(() => act(() => root.unmount()));
    const render = (jwt: string) =>
      act(() =>
        root.render(
          <TandemRoom url={server.syncUrl} room="doc" token={jwt} WebSocketPolyfill={NodeWebSocket}>
            <Probe />
          </TandemRoom>,
        ),
      );
    // Before the provider exists (the first render), nothing was acknowledged: not "saved".
    render(token('vic', 'viewer'));
    expect(container.textContent).toBe('unknown');
    await eventually(() => expect(container.textContent).toBe('read-only'));
    render(token('vic', 'editor'));
    act(() => {
      current!.disconnect();
      current!.connect();
    });
    await eventually(() => expect(container.textContent).toBe('saved'));
    expect(providers.size).toBe(1);
  });
});
