import { TandemProvider, type TandemProviderOptions } from '@tandem/client';
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
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
  const [ownDoc] = useState(() => new Y.Doc());
  const doc = givenDoc ?? ownDoc;
  const [provider, setProvider] = useState<TandemProvider | null>(null);
  // Options are read when the room mounts; changing the room or the URL makes a new provider.
  const { url } = options;
  useEffect(() => {
    const created = new TandemProvider({ ...options, room, doc, connect: false });
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
