// @vitest-environment jsdom
import { act, Suspense, useEffect, type ReactNode } from 'react';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { eventually } from '../../server/test/support/eventually.js';
import {
  TandemRoom,
  useArray,
  useError,
  useMutation,
  useSelf,
  useSuspendUntilSynced,
  useSynced,
  useUndoManager,
  useUpdateMyPresence,
  useYArray,
  useYText,
} from '../src/index.js';
import { mount, NodeWebSocket, remote, testServer as server, text } from './support.js';

describe('@tandem/react writes, undo and session hooks', () => {
  it('useMutation writes in one transaction; useUndoManager undoes only this client’s change', async () => {
    const s = await server();
    const doc = new Y.Doc();
    let updates = 0;
    doc.on('update', () => updates++);
    let api: { add: (a: string, b: string) => void; undo: () => void; canUndo: boolean } | null = null;
    const texts: Y.Text[] = [];
    function Todos(): ReactNode {
      const todos = useArray<string[]>('todos');
      const list = useYArray<string>('todos');
      texts.push(useYText('notes'));
      const add = useMutation((d, a: string, b: string) => {
        d.getArray<string>('todos').push([a]);
        d.getArray<string>('todos').push([b]);
      }, []);
      const { undo, canUndo } = useUndoManager(list);
      api = { add, undo, canUndo };
      return <p data-testid="todos">{todos.join(',')}</p>;
    }
    const container = mount(
      <TandemRoom url={s.syncUrl} room="writes" doc={doc} WebSocketPolyfill={NodeWebSocket}>
        <Todos />
      </TandemRoom>,
    );
    await eventually(() => expect(api).not.toBeNull());
    const before = updates;
    act(() => api!.add('milk', 'bread'));
    expect(updates - before).toBe(1);
    expect(text(container, 'todos')).toBe('milk,bread');
    // A collaborator's change is not this client's to undo.
    const other = remote(s.syncUrl, 'writes');
    await other.whenSynced();
    await eventually(() => expect(other.doc!.getArray('todos').length).toBe(2));
    other.doc!.getArray<string>('todos').push(['eggs']);
    await eventually(() => expect(text(container, 'todos')).toBe('milk,bread,eggs'));
    await eventually(() => expect(api!.canUndo).toBe(true));
    act(() => api!.undo());
    expect(text(container, 'todos')).toBe('eggs');
    expect(new Set(texts).size).toBe(1); // the live Y.Text is the same object on every render
  });

  it('useSynced and Suspense: a fallback until the first sync, then the stored content', async () => {
    const s = await server();
    const seed = remote(s.syncUrl, 'loaded');
    await seed.whenSynced();
    seed.doc!.getArray<string>('todos').push(['stored']);
    await seed.whenSaved();
    const seen: boolean[] = [];
    function Content(): ReactNode {
      useSuspendUntilSynced();
      return <p data-testid="content">{useArray<string[]>('todos').join(',')}</p>;
    }
    function Flag(): ReactNode {
      seen.push(useSynced());
      return null;
    }
    const container = mount(
      <TandemRoom url={s.syncUrl} room="loaded" WebSocketPolyfill={NodeWebSocket}>
        <Flag />
        <Suspense fallback={<p data-testid="content">loading</p>}>
          <Content />
        </Suspense>
      </TandemRoom>,
    );
    expect(text(container, 'content')).toBe('loading');
    await eventually(() => expect(text(container, 'content')).toBe('stored'));
    expect(seen[0]).toBe(false);
    expect(seen.at(-1)).toBe(true);
  });

  it('useError says why a room cannot be joined', async () => {
    const s = await server();
    function Problem(): ReactNode {
      return <p data-testid="error">{useError()?.code ?? 'none'}</p>;
    }
    const container = mount(
      <TandemRoom url={s.syncUrl} room="a/../b" WebSocketPolyfill={NodeWebSocket}>
        <Problem />
      </TandemRoom>,
    );
    await eventually(() => expect(text(container, 'error')).toBe('invalid_room_name'));
  });

  it('presence set before the provider exists is kept, and user and useSelf agree', async () => {
    const s = await server();
    function Me(): ReactNode {
      const update = useUpdateMyPresence();
      // A child's effect runs before <TandemRoom>'s: the provider does not exist yet.
      useEffect(() => update({ cursor: 7 }), [update]);
      const self = useSelf();
      return <p data-testid="self">{self ? `${self.user.name}@${String(self.state.cursor)}` : ''}</p>;
    }
    const container = mount(
      <TandemRoom url={s.syncUrl} room="presence" user={{ id: 'ada', name: 'Ada' }} WebSocketPolyfill={NodeWebSocket}>
        <Me />
      </TandemRoom>,
    );
    await eventually(() => expect(text(container, 'self')).toBe('Ada@7'));
    const other = remote(s.syncUrl, 'presence');
    await eventually(() =>
      expect(other.presence.others().map((o) => [o.user.name, o.state.cursor])).toEqual([['Ada', 7]]),
    );
  });
});
