import { defaultKeymap, indentWithTab } from '@codemirror/commands';
import { EditorState } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  placeholder,
} from '@codemirror/view';
import { useDoc, useOthers, useProvider, useText } from '@tandem/react';
import { useEffect, useRef } from 'react';
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import * as Y from 'yjs';

/** The Y.Text the editor edits (also what the history panel previews). */
export const EDITOR_FIELD = 'body';

/**
 * CodeMirror 6 on the room's text: remote cursors and selections with names (y-codemirror.next), and
 * undo/redo through a Y.UndoManager that tracks only this client's changes, so Ctrl+Z never takes back
 * a collaborator's typing.
 */
export function Editor() {
  const provider = useProvider();
  const doc = useDoc();
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!provider || !host.current) return;
    const text = doc.getText(EDITOR_FIELD);
    const undoManager = new Y.UndoManager(text);
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: text.toString(),
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightActiveLine(),
          drawSelection(),
          EditorView.lineWrapping,
          placeholder('Start typing — everyone in this room sees it live.'),
          keymap.of([...yUndoManagerKeymap, indentWithTab, ...defaultKeymap]),
          EditorView.contentAttributes.of({ 'aria-label': 'Shared document' }),
          yCollab(text, provider.awareness, { undoManager }),
        ],
      }),
    });
    return () => {
      view.destroy();
      undoManager.destroy();
    };
  }, [provider, doc]);
  return (
    <div className="editor-wrap">
      <div className="editor" ref={host} data-testid="editor" />
      <CursorPositions />
    </div>
  );
}

/** Line and column of a y-codemirror cursor (`cursor.head`, a relative position) in the current text. */
function lineColumn(doc: Y.Doc, text: string, cursor: unknown): string | null {
  const head = (cursor as { head?: unknown } | null)?.head;
  if (!head) return null;
  const absolute = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(head), doc);
  if (!absolute) return null;
  const before = text.slice(0, absolute.index);
  const line = before.split('\n').length;
  const column = absolute.index - before.lastIndexOf('\n');
  return `Ln ${line}, Col ${column}`;
}

/** Where each collaborator's cursor is. */
function CursorPositions() {
  const doc = useDoc();
  const text = useText(EDITOR_FIELD);
  const others = useOthers();
  const placed = others
    .map((o) => ({ o, at: lineColumn(doc, text, o.state.cursor) }))
    .filter((p): p is { o: (typeof others)[number]; at: string } => p.at !== null);
  if (placed.length === 0) return null;
  return (
    <ul className="cursors" aria-label="Collaborators' cursors" data-testid="cursors">
      {placed.map(({ o, at }) => (
        <li key={o.key}>
          <span className="swatch" style={{ background: String(o.user.color ?? '#888') }} aria-hidden="true" />
          {String(o.user.name ?? o.key)} <span className="muted">{at}</span>
        </li>
      ))}
    </ul>
  );
}
