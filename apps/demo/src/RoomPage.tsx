import { TandemRoom, useProvider } from '@tandem/react';
import { useEffect, useState } from 'react';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { ActivityFeed } from './ActivityFeed.js';
import { Board } from './Board.js';
import { Editor } from './Editor.js';
import { HistoryPanel } from './HistoryPanel.js';
import { rememberRoom, type Identity } from './identity.js';
import { PresenceBar } from './PresenceBar.js';
import { navigate, roomPath, type View } from './router.js';
import { StatusBadge } from './StatusBadge.js';
import { Toasts } from './Toasts.js';

/** The room's document, kept in IndexedDB too so edits made offline survive a reload. */
function useLocalDoc(room: string): { doc: Y.Doc; persistence: IndexeddbPersistence } | null {
  const [local, setLocal] = useState<{ doc: Y.Doc; persistence: IndexeddbPersistence } | null>(null);
  useEffect(() => {
    const doc = new Y.Doc();
    const persistence = new IndexeddbPersistence(`tandem-demo:${room}`, doc);
    setLocal({ doc, persistence });
    return () => {
      setLocal(null);
      void persistence.destroy().finally(() => doc.destroy());
    };
  }, [room]);
  return local;
}

function syncUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/sync`;
}

/** Announces who we are in the room's presence. */
function Me({ identity }: { identity: Identity }) {
  const provider = useProvider();
  useEffect(() => {
    provider?.presence.setUser({ id: identity.id, name: identity.name, color: identity.color });
  }, [provider, identity]);
  return null;
}

type Panel = 'activity' | 'history';

export function RoomPage({ room, view, identity }: { room: string; view: View; identity: Identity }) {
  const local = useLocalDoc(room);
  const [panel, setPanel] = useState<Panel>('activity');
  useEffect(() => rememberRoom(room), [room]);
  useEffect(() => {
    document.title = `${room} · Tandem`;
  }, [room]);
  if (!local) return <div className="loading">Opening {room}…</div>;
  return (
    <TandemRoom
      key={`${room}:${identity.id}`}
      room={room}
      url={syncUrl()}
      doc={local.doc}
      localPersistence={local.persistence}
      token={identity.token ?? undefined}
      params={identity.token ? undefined : { user: identity.id }}
      warnBeforeUnload
    >
      <Me identity={identity} />
      <div className="room">
        <header className="topbar">
          <button type="button" className="home-link" onClick={() => navigate('/')} aria-label="Home">
            <span className="logo" aria-hidden="true" />
            <span className="brand">Tandem</span>
          </button>
          <h1 className="room-name" title={room}>
            {room}
          </h1>
          <nav className="tabs" aria-label="View">
            <a
              href={roomPath(room)}
              aria-current={view === 'editor' ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(roomPath(room));
              }}
            >
              Editor
            </a>
            <a
              href={roomPath(room, 'board')}
              aria-current={view === 'board' ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(roomPath(room, 'board'));
              }}
            >
              Board
            </a>
          </nav>
          <PresenceBar identity={identity} />
          <StatusBadge />
        </header>
        <main className="workspace">{view === 'editor' ? <Editor /> : <Board />}</main>
        <aside className="sidebar">
          <div className="panel-tabs" role="tablist">
            <button type="button" role="tab" aria-selected={panel === 'activity'} onClick={() => setPanel('activity')}>
              Activity
            </button>
            <button type="button" role="tab" aria-selected={panel === 'history'} onClick={() => setPanel('history')}>
              History
            </button>
          </div>
          {panel === 'activity' ? (
            <ActivityFeed room={room} identity={identity} />
          ) : (
            <HistoryPanel room={room} identity={identity} />
          )}
        </aside>
        <Toasts identity={identity} />
      </div>
    </TandemRoom>
  );
}
