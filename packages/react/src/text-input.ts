import { useCallback, useEffect, useLayoutEffect, useRef, type ChangeEvent, type RefCallback } from 'react';
import * as Y from 'yjs';
import { useText } from './hooks.js';
import { useDoc } from './room.js';

type TextField = HTMLInputElement | HTMLTextAreaElement;

export interface TextInputBinding<E extends TextField> {
  value: string;
  onChange: (event: ChangeEvent<E>) => void;
  ref: RefCallback<E>;
}

/**
 * Binds a `<textarea>` or `<input>` to the document's `Y.Text` named `name`:
 * `<textarea {...useTextInput('body')} />`. Typing becomes the smallest edit of the shared text, and
 * the caret and selection stay where they were in the text when someone else edits before them (they
 * are kept as Yjs relative positions, not offsets, so a remote insert before the caret moves it along
 * instead of throwing it to the end).
 */
export function useTextInput<E extends TextField = HTMLTextAreaElement>(name: string): TextInputBinding<E> {
  const doc = useDoc();
  const ytext = doc.getText(name);
  const value = useText(name);
  const element = useRef<E | null>(null);
  const selection = useRef<{ start: Y.RelativePosition; end: Y.RelativePosition } | null>(null);

  const remember = useCallback(() => {
    const field = element.current;
    if (!field || field.ownerDocument.activeElement !== field) return;
    selection.current = {
      start: Y.createRelativePositionFromTypeIndex(ytext, field.selectionStart ?? 0),
      end: Y.createRelativePositionFromTypeIndex(ytext, field.selectionEnd ?? 0),
    };
  }, [ytext]);

  const ref = useCallback(
    (field: E | null) => {
      element.current?.removeEventListener('select', remember);
      element.current?.removeEventListener('keyup', remember);
      element.current?.removeEventListener('mouseup', remember);
      element.current = field;
      field?.addEventListener('select', remember);
      field?.addEventListener('keyup', remember);
      field?.addEventListener('mouseup', remember);
    },
    [remember],
  );

  // Before a remote change is applied the field still shows the old text: the caret's offsets are
  // turned into relative positions then, and back into offsets once the new text is rendered.
  useEffect(() => {
    const before = (transaction: Y.Transaction) => {
      if (transaction.local) return;
      remember();
    };
    doc.on('beforeTransaction', before);
    return () => doc.off('beforeTransaction', before);
  }, [doc, remember]);

  useLayoutEffect(() => {
    const field = element.current;
    const kept = selection.current;
    if (!field || !kept || field.ownerDocument.activeElement !== field) return;
    const start = Y.createAbsolutePositionFromRelativePosition(kept.start, doc);
    const end = Y.createAbsolutePositionFromRelativePosition(kept.end, doc);
    if (start && end && (field.selectionStart !== start.index || field.selectionEnd !== end.index)) {
      field.setSelectionRange(start.index, end.index);
    }
  }, [value, doc]);

  const onChange = useCallback(
    (event: ChangeEvent<E>) => {
      const next = event.target.value;
      const current = ytext.toString();
      // The smallest edit that turns the current text into the field's: one delete and one insert.
      let head = 0;
      while (head < current.length && head < next.length && current[head] === next[head]) head++;
      let tail = 0;
      while (
        tail < current.length - head &&
        tail < next.length - head &&
        current[current.length - 1 - tail] === next[next.length - 1 - tail]
      ) {
        tail++;
      }
      doc.transact(() => {
        if (current.length - head - tail > 0) ytext.delete(head, current.length - head - tail);
        if (next.length - head - tail > 0) ytext.insert(head, next.slice(head, next.length - tail));
      });
      remember();
    },
    [doc, ytext, remember],
  );

  return { value, onChange, ref };
}
