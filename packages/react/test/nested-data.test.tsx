// @vitest-environment jsdom
import { act, Component, memo, StrictMode, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { describe, expect, it, onTestFinished } from 'vitest';
import * as Y from 'yjs';
import { eventually } from '../../server/test/support/eventually.js';
import { TandemRoom, useArray, useMap, useStatus } from '../src/index.js';
import { NodeWebSocket, remote, testServer as server, text } from './support.js';

/** Catches what React throws (a render loop ends in "Maximum update depth exceeded"). */
class Catch extends Component<{ children: ReactNode; onError: (error: Error) => void }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }
  override componentDidCatch(error: Error): void {
    this.props.onError(error);
  }
  override render(): ReactNode {
    return this.state.failed ? <p data-testid="crashed">crashed</p> : this.props.children;
  }
}

function mount(node: ReactNode): { container: HTMLElement; errors: Error[]; render: (node: ReactNode) => void } {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  const errors: Error[] = [];
  const render = (next: ReactNode) => act(() => root.render(<Catch onError={(e) => errors.push(e)}>{next}</Catch>));
  render(node);
  onTestFinished(() => act(() => root.unmount()));
  return { container, errors, render };
}

interface Todo {
  title: string;
  done: boolean;
}

describe('@tandem/react with nested shared types', () => {
  it('useArray over a Y.Array of Y.Maps renders remote inserts and edits, in StrictMode', async () => {
    const s = await server();
    let itemRenders = 0;
    const Item = memo(function Item({ todo }: { todo: Todo }): ReactNode {
      itemRenders++;
      return (
        <li>
          {todo.title}
          {todo.done ? ' ✓' : ''}
        </li>
      );
    });
    function Todos(): ReactNode {
      const todos = useArray<Todo[]>('todos');
      const status = useStatus();
      return (
        <div>
          <p data-testid="status">{status}</p>
          <ul data-testid="todos">
            {todos.map((todo, i) => (
              <Item key={i} todo={todo} />
            ))}
          </ul>
        </div>
      );
    }
    const { container, errors } = mount(
      <StrictMode>
        <TandemRoom url={s.syncUrl} room="todos" WebSocketPolyfill={NodeWebSocket}>
          <Todos />
        </TandemRoom>
      </StrictMode>,
    );
    await eventually(() => expect(text(container, 'status')).toBe('live'));
    const other = remote(s.syncUrl, 'todos');
    await other.whenSynced();
    const list = other.doc!.getArray<Y.Map<unknown>>('todos');
    const add = (title: string) => {
      const todo = new Y.Map<unknown>();
      todo.set('title', title);
      todo.set('done', false);
      list.push([todo]);
    };
    add('milk');
    add('bread');
    await eventually(() => expect(text(container, 'todos')).toBe('milkbread'));
    const before = itemRenders;
    list.get(1).set('done', true);
    await eventually(() => expect(text(container, 'todos')).toBe('milkbread ✓'));
    // Structural sharing: the unchanged first item keeps its object, so only the second re-renders
    // (twice in StrictMode's double render at most).
    expect(itemRenders - before).toBeLessThanOrEqual(2);
    expect(errors).toEqual([]);
  });

  it('useMap over a map holding a nested Y.Map renders nested changes without a loop', async () => {
    const s = await server();
    function Settings(): ReactNode {
      const settings = useMap<{ theme?: { color?: string } }>('settings');
      return <p data-testid="color">{settings.theme?.color ?? ''}</p>;
    }
    const doc = new Y.Doc();
    const { container, errors } = mount(
      <TandemRoom url={s.syncUrl} room="settings" doc={doc} WebSocketPolyfill={NodeWebSocket}>
        <Settings />
      </TandemRoom>,
    );
    const theme = new Y.Map<string>();
    act(() => doc.getMap('settings').set('theme', theme));
    act(() => theme.set('color', 'teal'));
    await eventually(() => expect(text(container, 'color')).toBe('teal'));
    act(() => theme.set('color', 'plum'));
    expect(text(container, 'color')).toBe('plum');
    expect(errors).toEqual([]);
  });

  it('changing <TandemRoom room> starts a fresh document: nothing of room A is written into room B', async () => {
    const s = await server();
    function Editor(): ReactNode {
      const todos = useArray<string[]>('todos');
      return <p data-testid="todos">{todos.join(',')}</p>;
    }
    function App(): ReactNode {
      const [room, setRoom] = useState('room-a');
      return (
        <div>
          <button onClick={() => setRoom('room-b')}>switch</button>
          <TandemRoom url={s.syncUrl} room={room} WebSocketPolyfill={NodeWebSocket}>
            <Editor />
          </TandemRoom>
        </div>
      );
    }
    const a = remote(s.syncUrl, 'room-a');
    await a.whenSynced();
    a.doc!.getArray<string>('todos').push(['only in A']);
    await a.whenSaved();
    const { container } = mount(<App />);
    await eventually(() => expect(text(container, 'todos')).toBe('only in A'));
    act(() => container.querySelector('button')!.click());
    const b = remote(s.syncUrl, 'room-b');
    await b.whenSynced();
    b.doc!.getArray<string>('todos').push(['only in B']);
    // With A's document kept, the view would hold both items, and its sync would write A's into B.
    await eventually(() => expect(text(container, 'todos')).toBe('only in B'));
    await eventually(() => expect(b.doc!.getArray<string>('todos').toArray()).toEqual(['only in B']));
  });
});
