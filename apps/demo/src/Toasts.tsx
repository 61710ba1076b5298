import type { EventEnvelope } from '@tandem/client';
import { useEvent } from '@tandem/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Identity } from './identity.js';

interface Toast {
  id: string;
  text: string;
}

const TOAST_MS = 4_000;

function who(event: EventEnvelope): string {
  const data = event.data as { name?: unknown } | null;
  return typeof data?.name === 'string' ? data.name : (event.user ?? 'Someone');
}

/** Join and leave notices from the room's `collab.user_joined` / `collab.user_left` events. */
export function Toasts({ identity }: { identity: Identity }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach(clearTimeout);
  }, []);
  const push = useCallback(
    (event: EventEnvelope, verb: string) => {
      if (event.user === identity.id) return;
      const toast = { id: event.id, text: `${who(event)} ${verb}` };
      setToasts((current) => [...current.filter((t) => t.id !== toast.id), toast].slice(-4));
      const timer = setTimeout(() => {
        timers.current.delete(timer);
        setToasts((current) => current.filter((t) => t.id !== toast.id));
      }, TOAST_MS);
      timers.current.add(timer);
    },
    [identity.id],
  );
  useEvent('collab.user_joined', (e) => push(e, 'joined'));
  useEvent('collab.user_left', (e) => push(e, 'left'));
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className="toast">
          {t.text}
        </div>
      ))}
    </div>
  );
}
