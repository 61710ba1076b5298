import type { EventEnvelope } from '@tandem/client';
import { useEvent } from '@tandem/react';
import { useState } from 'react';
import { api } from './api.js';
import type { Identity } from './identity.js';
import { InlineForm } from './InlineForm.js';

const MAX_SHOWN = 100;

function describe(event: EventEnvelope): string {
  const data = event.data as Record<string, unknown> | null;
  if (typeof data?.text === 'string') return data.text;
  if (typeof data?.name === 'string') return data.name;
  return data === null || data === undefined ? '' : JSON.stringify(data);
}

/** The room's events as they happen (missed ones caught up after a reconnect), and a form that posts one over REST. */
export function ActivityFeed({ room, identity }: { room: string; identity: Identity }) {
  const [events, setEvents] = useState<EventEnvelope[]>([]);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEvent('*', (event) =>
    setEvents((current) => [event, ...current.filter((e) => e.id !== event.id)].slice(0, MAX_SHOWN)),
  );

  const submit = async (): Promise<void> => {
    if (!text.trim()) return;
    try {
      await api.postEvent(identity, room, 'app.note', { text: text.trim() });
      setText('');
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section className="panel activity" aria-label="Activity">
      <InlineForm
        label="Post an event"
        placeholder="Post an app event over REST…"
        value={text}
        maxLength={500}
        button="Post"
        onChange={setText}
        onSubmit={submit}
      />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <ol className="feed" data-testid="feed">
        {events.length === 0 && <li className="empty">Nothing yet. Events of this room appear here live.</li>}
        {events.map((e) => (
          <li key={e.id}>
            <span className="event-type">{e.type}</span>
            <span className="event-text">{describe(e)}</span>
            <time dateTime={new Date(e.ts).toISOString()}>{new Date(e.ts).toLocaleTimeString()}</time>
            {e.user && <span className="event-user">{e.user}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}
