// @vitest-environment jsdom
import { TandemProvider, type WebSocketConstructor } from '@tandem/client';
import { act, StrictMode, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { TandemServer } from '../../server/src/server.js';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import { countingWebSocket } from '../../client/test/support.js';
import { TandemRoom, useMap, useOthers, useSaveState, useStatus, useText, useUpdateMyPresence } from '../src/index.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

describe('@tandem/react', () => {
  let server: TandemServer;
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await server?.drain();
  });
  const mount = (node: ReactNode): { root: Root; container: HTMLElement } => {
    const container = document.createElement('div');
    document.body.appendChild(container);
    const root = createRoot(container);
    act(() => root.render(node));
    cleanups.push(() => act(() => root.unmount()));
    return { root, container };
  };
  const remote = (room: string): TandemProvider => {
    const p = new TandemProvider({
      url: server.syncUrl,
      room,
      doc: new Y.Doc(),
      WebSocketPolyfill: WebSocket as unknown as WebSocketConstructor,
    });
    cleanups.push(() => p.destroy());
    return p;
  };

  function Note(): ReactNode {
    const text = useText('t');
    const status = useStatus();
    const { state } = useSaveState();
    const others = useOthers();
    const update = useUpdateMyPresence();
    return (
      <div>
        <p data-testid="text">{text}</p>
        <p data-testid="status">{status}</p>
        <p data-testid="save">{state}</p>
        <p data-testid="others">{others.map((o) => o.user.name).join(',')}</p>
        <button onClick={() => update({ user: { id: 'me', name: 'Me' } })}>hi</button>
      </div>
    );
  }
  const field = (container: HTMLElement, id: string): string =>
    container.querySelector(`[data-testid="${id}"]`)!.textContent ?? '';

  it('hooks re-render on remote changes: text, status, save state and others', async () => {
    server = await startTestServer();
    const { Impl } = countingWebSocket();
    const { container } = mount(
      <TandemRoom url={server.syncUrl} room="note" WebSocketPolyfill={Impl}>
        <Note />
      </TandemRoom>,
    );
    await eventually(() => expect(field(container, 'status')).toBe('live'));
    const other = remote('note');
    await other.whenSynced();
    other.doc!.getText('t').insert(0, 'from elsewhere');
    other.presence.setUser({ id: 'olga', name: 'Olga' });
    await eventually(() => expect(field(container, 'text')).toBe('from elsewhere'));
    await eventually(() => expect(field(container, 'others')).toBe('Olga'));
    expect(field(container, 'save')).toBe('saved');
    act(() => container.querySelector('button')!.click());
    await eventually(() => expect(other.presence.others().map((o) => o.user.name)).toEqual(['Me']));
  });

  it('under StrictMode one socket per mounted room, none left after unmount', async () => {
    server = await startTestServer();
    const sockets = countingWebSocket();
    const { root, container } = mount(
      <StrictMode>
        <TandemRoom url={server.syncUrl} room="strict" WebSocketPolyfill={sockets.Impl}>
          <Note />
        </TandemRoom>
      </StrictMode>,
    );
    await eventually(() => expect(field(container, 'status')).toBe('live'));
    await new Promise((r) => setTimeout(r, 100));
    expect(sockets.count()).toBe(1);
    expect(server.registry.get('strict')!.peerCount).toBe(1);
    act(() => root.unmount());
    await eventually(() => expect(server.registry.get('strict')?.peerCount ?? 0).toBe(0));
    expect(sockets.count()).toBe(1);
  });

  it('useMap with a selector re-renders only when what it selects changes', async () => {
    server = await startTestServer();
    let renders = 0;
    function Title(): ReactNode {
      // A new object on every read: only the shallow comparison keeps it from re-rendering.
      const { title } = useMap('meta', (m) => ({ title: m.title as string | undefined }));
      renders++;
      return <p data-testid="title">{title ?? ''}</p>;
    }
    const doc = new Y.Doc();
    const { container } = mount(
      <TandemRoom url={server.syncUrl} room="meta" doc={doc} WebSocketPolyfill={countingWebSocket().Impl}>
        <Title />
      </TandemRoom>,
    );
    act(() => doc.getMap('meta').set('title', 'Plan'));
    await eventually(() => expect(field(container, 'title')).toBe('Plan'));
    const before = renders;
    act(() => doc.getMap('meta').set('unrelated', 1));
    act(() => doc.getMap('meta').set('unrelated', 2));
    expect(renders).toBe(before);
    act(() => doc.getMap('meta').set('title', 'Plan B'));
    expect(field(container, 'title')).toBe('Plan B');
  });
});
