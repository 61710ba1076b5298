import { useEvent } from '@tandem/react';
import { useCallback, useEffect, useState } from 'react';
import { api, type Revision } from './api.js';
import { EDITOR_FIELD } from './Editor.js';
import type { Identity } from './identity.js';
import { InlineForm } from './InlineForm.js';

/** Revisions with time and author: preview one, name the current state, restore. */
export function HistoryPanel({ room, identity }: { room: string; identity: Identity }) {
  const [revisions, setRevisions] = useState<Revision[] | null>(null);
  const [label, setLabel] = useState('');
  const [preview, setPreview] = useState<{ id: number; text: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setRevisions((await api.revisions(identity, room)).revisions);
    } catch (err) {
      // A room nobody has written to yet has no history.
      setRevisions([]);
      if (!(err instanceof Error && 'code' in err && err.code === 'room_not_found')) setMessage(String(err));
    }
  }, [identity, room]);
  useEffect(() => void refresh(), [refresh]);
  useEvent('collab.revision_created', () => void refresh());

  const save = async (): Promise<void> => {
    try {
      await api.saveRevision(identity, room, label.trim() || `Saved by ${identity.name}`);
      setLabel('');
      setMessage('Version saved.');
      await refresh();
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  const show = async (id: number): Promise<void> => {
    try {
      setPreview({ id, text: await api.revisionText(identity, room, id, EDITOR_FIELD) });
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  const restore = async (id: number): Promise<void> => {
    try {
      await api.restore(identity, room, id);
      setMessage(`Restored version ${id}; the state before it was saved as a version too.`);
      setPreview(null);
      await refresh();
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section className="panel history" aria-label="History">
      <InlineForm
        label="Version name"
        placeholder="Name this version…"
        value={label}
        maxLength={200}
        button="Save"
        onChange={setLabel}
        onSubmit={save}
      />
      {message && <p className="note">{message}</p>}
      <ol className="revisions" data-testid="revisions">
        {revisions?.length === 0 && <li className="empty">No versions yet.</li>}
        {revisions?.map((r) => (
          <li key={r.id} className={preview?.id === r.id ? 'selected' : undefined}>
            <div className="revision-head">
              <span className="revision-label">{r.label || `Version ${r.id}`}</span>
              <time dateTime={new Date(r.ts).toISOString()}>{new Date(r.ts).toLocaleString()}</time>
            </div>
            <div className="revision-meta">{r.user ?? 'server'}</div>
            <div className="revision-actions">
              <button type="button" onClick={() => void show(r.id)}>
                Preview
              </button>
              <button type="button" onClick={() => void restore(r.id)}>
                Restore
              </button>
            </div>
            {preview?.id === r.id && <pre className="preview">{preview.text || '(empty)'}</pre>}
          </li>
        ))}
      </ol>
    </section>
  );
}
