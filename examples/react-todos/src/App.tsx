import {
  TandemRoom,
  useArray,
  useError,
  useMutation,
  useOthers,
  useSaveState,
  useStatus,
  useTextInput,
} from '@tandem/react';
import { memo, useState, type FormEvent } from 'react';
import * as Y from 'yjs';

interface Todo {
  title: string;
  done: boolean;
}

const params = new URLSearchParams(location.search);
const SYNC_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/sync`;

/** A room picker and the room: switching rooms swaps the whole document, never mixing two. */
export function App() {
  const [room, setRoom] = useState(params.get('room') ?? 'todos');
  const name = params.get('name') ?? 'Someone';
  return (
    <main>
      <label>
        Room{' '}
        <select data-testid="room" value={room} onChange={(e) => setRoom(e.target.value)}>
          {[...new Set([room, 'todos', 'groceries'])].map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <TandemRoom
        url={SYNC_URL}
        room={room}
        token={params.get('token') ?? undefined}
        user={{ id: name.toLowerCase(), name }}
      >
        <Badge />
        <Todos />
        <Notes />
        <People />
      </TandemRoom>
    </main>
  );
}

function Badge() {
  const status = useStatus();
  const { state, pendingUpdates } = useSaveState();
  const error = useError();
  return (
    <p>
      <span data-testid="status">{status}</span> · <span data-testid="save">{state}</span>
      {pendingUpdates > 0 ? ` (${pendingUpdates})` : ''}
      {error ? <span data-testid="error"> · {error.code}</span> : null}
    </p>
  );
}

const Item = memo(function Item({ todo, index }: { todo: Todo; index: number }) {
  const toggle = useMutation((doc, i: number) => {
    const item = doc.getArray<Y.Map<unknown>>('todos').get(i);
    item.set('done', !item.get('done'));
  }, []);
  return (
    <li>
      <label>
        <input type="checkbox" checked={todo.done} onChange={() => toggle(index)} />
        <span data-testid="todo">{todo.title}</span>
      </label>
    </li>
  );
});

function Todos() {
  const todos = useArray<Todo[]>('todos');
  const [title, setTitle] = useState('');
  const add = useMutation((doc, text: string) => {
    const todo = new Y.Map<unknown>();
    todo.set('title', text);
    todo.set('done', false);
    doc.getArray<Y.Map<unknown>>('todos').push([todo]);
  }, []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (title.trim()) add(title.trim());
    setTitle('');
  };
  return (
    <section>
      <form onSubmit={submit}>
        <input data-testid="new-todo" value={title} onChange={(e) => setTitle(e.target.value)} />
        <button type="submit">Add</button>
      </form>
      <ul data-testid="todos">
        {todos.map((todo, i) => (
          <Item key={i} todo={todo} index={i} />
        ))}
      </ul>
    </section>
  );
}

function Notes() {
  return <textarea data-testid="notes" {...useTextInput('notes')} />;
}

function People() {
  const others = useOthers();
  return <p data-testid="others">{others.map((o) => o.user.name).join(', ')}</p>;
}
