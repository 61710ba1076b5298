import * as Y from 'yjs';
import { TandemError } from '../errors.js';
import { asKind, rootKind, typedRoot, type RootKind, type TypedRoot } from './doc-view.js';

export type TextOp = { retain: number } | { delete: number } | { insert: string; attributes?: Record<string, unknown> };

/** The root named `name` as `kind`, refusing to reinterpret an existing root of another kind. */
function rootOf(doc: Y.Doc, name: string, kind: RootKind): TypedRoot {
  const existing = doc.share.get(name);
  const found = existing ? rootKind(existing) : null;
  if (found !== null && found !== kind) {
    throw new TandemError('invalid_request', `"${name}" is a ${found}, not a ${kind}`);
  }
  return asKind(doc, name, kind)!;
}

/** Replaces a text's content, touching only the changed middle so cursors elsewhere survive. */
export function replaceText(doc: Y.Doc, field: string, next: string): void {
  const text = rootOf(doc, field, 'text') as Y.Text;
  const current = text.toString();
  let start = 0;
  while (start < current.length && start < next.length && current[start] === next[start]) start++;
  let endCur = current.length;
  let endNext = next.length;
  while (endCur > start && endNext > start && current[endCur - 1] === next[endNext - 1]) {
    endCur--;
    endNext--;
  }
  if (endCur > start) text.delete(start, endCur - start);
  if (endNext > start) text.insert(start, next.slice(start, endNext));
}

/** Applies a text delta after checking it stays inside the text. */
export function applyTextOps(doc: Y.Doc, field: string, ops: TextOp[]): void {
  const text = rootOf(doc, field, 'text') as Y.Text;
  let consumed = 0;
  for (const op of ops)
    if ('retain' in op) consumed += op.retain;
    else if ('delete' in op) consumed += op.delete;
  if (consumed > text.length) {
    throw new TandemError(
      'invalid_request',
      `ops retain/delete ${consumed} characters but the text has ${text.length}`,
    );
  }
  text.applyDelta(ops);
}

/**
 * Sets top-level types from plain JSON: a string replaces a text, an array an array's items, an object
 * a map's entries (keys not given are removed). Nested values are stored as plain JSON.
 */
export function importJson(doc: Y.Doc, content: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(content)) {
    if (typeof value === 'string') {
      replaceText(doc, name, value);
    } else if (Array.isArray(value)) {
      const array = rootOf(doc, name, 'array') as Y.Array<unknown>;
      array.delete(0, array.length);
      array.insert(0, value);
    } else if (typeof value === 'object' && value !== null) {
      const map = rootOf(doc, name, 'map') as Y.Map<unknown>;
      for (const key of [...map.keys()]) if (!(key in value)) map.delete(key);
      for (const [key, v] of Object.entries(value)) map.set(key, v);
    } else {
      throw new TandemError('invalid_request', `"${name}": top-level values must be a string, array or object`);
    }
  }
}

/**
 * Makes `doc`'s top-level types equal to those of `target` with new operations (so the change merges
 * with concurrent edits like any other). Used to restore revisions.
 */
export function replaceContent(doc: Y.Doc, target: Y.Doc): void {
  const names = new Set([...doc.share.keys(), ...target.share.keys()]);
  for (const name of names) {
    const source = typedRoot(target, name);
    const current = typedRoot(doc, name);
    if (current instanceof Y.Text) current.delete(0, current.length);
    else if (current instanceof Y.Array || current instanceof Y.XmlFragment) current.delete(0, current.length);
    else if (current instanceof Y.Map) for (const key of [...current.keys()]) current.delete(key);
    if (source === null) continue;
    const dest = rootOf(doc, name, rootKind(source)!);
    const clone = (v: unknown): unknown => (v instanceof Y.AbstractType ? v.clone() : v);
    if (source instanceof Y.Text) (dest as Y.Text).applyDelta(source.toDelta());
    else if (source instanceof Y.Map) for (const [k, v] of source.entries()) (dest as Y.Map<unknown>).set(k, clone(v));
    else if (source instanceof Y.Array) (dest as Y.Array<unknown>).insert(0, source.toArray().map(clone));
    else if (source instanceof Y.XmlFragment) {
      (dest as Y.XmlFragment).insert(
        0,
        source.toArray().map((n) => n.clone() as Y.XmlElement | Y.XmlText),
      );
    }
  }
}
