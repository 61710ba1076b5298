import { TandemProvider, type PresenceUser, type TandemProviderOptions } from '@tandem/client';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import * as Y from 'yjs';

export interface RoomContextValue {
  /** Null until the room's effect has run (the first render), and after unmount. */
  provider: TandemProvider | null;
  doc: Y.Doc;
  /** Merges fields into this client's presence; calls made before the provider exists are kept for it. */
  updatePresence: (fields: Record<string, unknown>) => void;
}

const RoomContext = createContext<RoomContextValue | null>(null);

export interface TandemRoomProps extends Omit<TandemProviderOptions, 'room' | 'doc' | 'connect'> {
  room: string;
  /** The document to sync; a fresh one per room by default. */
  doc?: Y.Doc;
  /** Who this client is, in everyone's `useOthers()` (and `useSelf()`); updated when it changes. */
  user?: PresenceUser;
  /** Presence fields set as soon as the room's provider exists (a cursor colour, a status). */
  initialPresence?: Record<string, unknown>;
  children?: ReactNode;
}

/**
 * Creates the room's provider when mounted and destroys it when unmounted. The socket opens one task
 * after the effect, so React StrictMode's simulated unmount (which runs right after the first mount)
 * cancels it before it exists: one socket per mounted room, never a stray one.
 */
export function TandemRoom({
  room,
  doc: givenDoc,
  user,
  initialPresence,
  children,
  ...options
}: TandemRoomProps): ReactNode {
  // A document belongs to one room: switching rooms with the same one would sync room A's content into
  // room B. So the room's own document is replaced whenever the room changes (derived state, set
  // during render so no frame shows the old room's content under the new name).
  const [own, setOwn] = useState(() => ({ room, doc: new Y.Doc() }));
  let ownDoc = own.doc;
  if (givenDoc === undefined && own.room !== room) {
    const next = { room, doc: new Y.Doc() };
    setOwn(next);
    ownDoc = next.doc;
  }
  const doc = givenDoc ?? ownDoc;
  const [provider, setProvider] = useState<TandemProvider | null>(null);
  // The latest `token` prop is the one used, at every (re)connect and refresh: an app that refreshes
  // its token by re-rendering gets it used without a new provider.
  const token = useRef(options.token);
  token.current = options.token;
  // Presence set before the provider exists (the first render, a room switch) waits here for it.
  const pendingPresence = useRef<Record<string, unknown>>({ ...initialPresence });
  // Other options are read when the room mounts; changing the room or the URL makes a new provider.
  const { url } = options;
  useEffect(() => {
    const latestToken =
      options.token === undefined
        ? undefined
        : async () => {
            const current = token.current;
            return typeof current === 'function' ? current() : (current ?? '');
          };
    const created = new TandemProvider({ ...options, token: latestToken, room, doc, connect: false });
    if (Object.keys(pendingPresence.current).length > 0) created.presence.update(pendingPresence.current);
    const start = setTimeout(() => created.connect(), 0);
    setProvider(created);
    return () => {
      clearTimeout(start);
      // What this client had set carries over to the next provider (a room or URL change).
      pendingPresence.current = { ...created.presence.mine };
      created.destroy();
      setProvider((current) => (current === created ? null : current));
    };
  }, [room, url, doc]);
  const userKey = JSON.stringify(user ?? null);
  useEffect(() => {
    if (provider && user) provider.presence.setUser(user);
    // Keyed by content: a new object with the same fields is no change.
  }, [provider, userKey]);
  const updatePresence = useCallback(
    (fields: Record<string, unknown>) => {
      if (provider) provider.presence.update(fields);
      else pendingPresence.current = { ...pendingPresence.current, ...fields };
    },
    [provider],
  );
  const value = useMemo(() => ({ provider, doc, updatePresence }), [provider, doc, updatePresence]);
  return <RoomContext.Provider value={value}>{children}</RoomContext.Provider>;
}

/** The room of the nearest `<TandemRoom>`; throws outside one. */
export function useRoom(): RoomContextValue {
  const value = useContext(RoomContext);
  if (!value) throw new Error('Tandem hooks must be used inside <TandemRoom>');
  return value;
}

export function useProvider(): TandemProvider | null {
  return useRoom().provider;
}

export function useDoc(): Y.Doc {
  return useRoom().doc;
}
