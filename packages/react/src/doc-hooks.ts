import { useCallback, useEffect, useRef, useState } from 'react';
import * as Y from 'yjs';
import { useDoc } from './room.js';

/**
 * A callback that changes the document in one transaction (one update, one undo step, one render):
 * `const addTodo = useMutation((doc, title: string) => doc.getArray('todos').push([title]), [])`.
 */
export function useMutation<A extends unknown[], R>(
  mutate: (doc: Y.Doc, ...args: A) => R,
  deps: readonly unknown[],
): (...args: A) => R {
  const doc = useDoc();
  // The callback changes with `deps`, as useCallback's does.
  const latest = useCallback(mutate, deps);
  return useCallback(
    (...args: A) => {
      let result!: R;
      doc.transact(() => {
        result = latest(doc, ...args);
      });
      return result;
    },
    [doc, latest],
  );
}

/** The document's `Y.Text` itself, for editor bindings (CodeMirror, Tiptap, Quill): stable per room. */
export function useYText(name: string): Y.Text {
  return useDoc().getText(name);
}

/** The document's `Y.Array` itself, for bindings that work on the shared type. */
export function useYArray<T = unknown>(name: string): Y.Array<T> {
  return useDoc().getArray<T>(name);
}

/** The document's `Y.Map` itself, for bindings that work on the shared type. */
export function useYMap<T = unknown>(name: string): Y.Map<T> {
  return useDoc().getMap<T>(name);
}

export interface UndoState {
  undo: () => void;
  redo: () => void;
  canUndo: boolean;
  canRedo: boolean;
  /** The Yjs undo manager, for what the hook does not cover (stack items); null before the first effect. */
  manager: Y.UndoManager | null;
}

/**
 * Undo and redo of this client's own changes to the given shared types (from `useYText`, `useYArray`,
 * `useYMap`; never a collaborator's change: only local transactions are tracked), with `canUndo` and
 * `canRedo` that re-render as the stacks change. Pass the same types each render.
 */
// As Yjs's own UndoManager types its scope: a Y.Array<string> is not an AbstractType<unknown>.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type UndoScope = Y.AbstractType<any>;

export function useUndoManager(scope: UndoScope | UndoScope[], options: { captureTimeout?: number } = {}): UndoState {
  const types: UndoScope[] = Array.isArray(scope) ? scope : [scope];
  // A new manager only when the scope is other types, not for a new array of the same ones.
  const scopeRef = useRef({ types, version: 0 });
  if (!sameTypes(scopeRef.current.types, types)) scopeRef.current = { types, version: scopeRef.current.version + 1 };
  const { version } = scopeRef.current;
  const captureTimeout = options.captureTimeout;
  const [manager, setManager] = useState<Y.UndoManager | null>(null);
  const [, setStackVersion] = useState(0);
  // Made in the effect (not during render), so StrictMode's remount gets a live manager of its own.
  useEffect(() => {
    // Local transactions have no origin (the provider applies the server's with itself as origin).
    const created = new Y.UndoManager(scopeRef.current.types, { trackedOrigins: new Set([null]), captureTimeout });
    const changed = () => setStackVersion((v) => v + 1);
    created.on('stack-item-added', changed);
    created.on('stack-item-popped', changed);
    created.on('stack-cleared', changed);
    setManager(created);
    return () => {
      created.destroy();
      setManager((current) => (current === created ? null : current));
    };
  }, [version, captureTimeout]);
  return {
    undo: () => void manager?.undo(),
    redo: () => void manager?.redo(),
    canUndo: manager?.canUndo() ?? false,
    canRedo: manager?.canRedo() ?? false,
    manager,
  };
}

function sameTypes(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((type, i) => type === b[i]);
}
