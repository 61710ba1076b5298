import { TandemProvider, type TandemProviderOptions } from '@tandem/client';
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import * as Y from 'yjs';

export interface RoomContextValue {
  /** Null until the room's effect has run (the first render), and after unmount. */
  provider: TandemProvider | null;
  doc: Y.Doc;
}

const RoomContext = createContext<RoomContextValue | null>(null);

export interface TandemRoomProps extends Omit<TandemProviderOptions, 'room' | 'doc' | 'connect'> {
  room: string;
  /** The document to sync; a fresh one per mounted room by default. */
  doc?: Y.Doc;
  children?: ReactNode;
}

/**
 * Creates the room's provider when mounted and destroys it when unmounted. The socket opens one task
 * after the effect, so React StrictMode's simulated unmount (which runs right after the first mount)
 * cancels it before it exists: one socket per mounted room, never a stray one.
 */
export function TandemRoom({ room, doc: givenDoc, children, ...options }: TandemRoomProps): ReactNode {
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
    const start = setTimeout(() => created.connect(), 0);
    setProvider(created);
    return () => {
      clearTimeout(start);
      created.destroy();
      setProvider((current) => (current === created ? null : current));
    };
  }, [room, url, doc]);
  const value = useMemo(() => ({ provider, doc }), [provider, doc]);
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
