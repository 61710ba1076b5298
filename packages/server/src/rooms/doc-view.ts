import { createHash } from 'node:crypto';
import * as Y from 'yjs';

export type RootKind = 'text' | 'map' | 'array' | 'xml';
export type TypedRoot = Y.Text | Y.Map<unknown> | Y.Array<unknown> | Y.XmlFragment;
/** Whatever Yjs keeps in `doc.share`. */
export type RootType = NonNullable<ReturnType<Y.Doc['share']['get']>>;

/**
 * What a top-level type is. Yjs does not store the kind of root types, so a root nobody has asked for
 * by kind yet is a bare AbstractType: infer it from its content (how y-websocket-based tools do).
 * Null for an empty root (nothing to tell, nothing to show).
 */
export function rootKind(type: RootType | TypedRoot): RootKind | null {
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.Map) return 'map';
  if (type instanceof Y.Array) return 'array';
  if (type instanceof Y.XmlFragment) return 'xml';
  if (type._map.size > 0) return 'map';
  for (let item = type._start; item !== null; item = item.right) {
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) {
      return 'text';
    }
    if (content instanceof Y.ContentType) {
      return content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText ? 'xml' : 'array';
    }
    if (!item.deleted) return 'array';
  }
  return null;
}

/** The root as its concrete Yjs class (converting a bare one), or null when empty/absent. */
export function typedRoot(doc: Y.Doc, name: string): TypedRoot | null {
  const type = doc.share.get(name);
  if (!type) return null;
  return asKind(doc, name, rootKind(type));
}

export function asKind(doc: Y.Doc, name: string, kind: RootKind | null): TypedRoot | null {
  switch (kind) {
    case 'text':
      return doc.getText(name);
    case 'map':
      return doc.getMap(name);
    case 'array':
      return doc.getArray(name);
    case 'xml':
      return doc.getXmlFragment(name);
    default:
      return null;
  }
}

/**
 * JSON view of every non-empty top-level type: text → string, map → object, array → array, xml → string.
 * Empty roots are left out: Yjs cannot tell an emptied root from one that never existed.
 */
export function docToJson(doc: Y.Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of [...doc.share.keys()].sort()) {
    const root = typedRoot(doc, name);
    if (root === null || (root instanceof Y.Map ? root.size : root.length) === 0) continue;
    out[name] = root instanceof Y.Text || root instanceof Y.XmlFragment ? root.toString() : root.toJSON();
  }
  return out;
}

/**
 * A short string that changes whenever the document does (insertions move the state vector, deletions
 * the delete set) and is the same for equal documents: used as ETag and for `baseVersion` checks.
 */
export function docVersion(doc: Y.Doc): string {
  return createHash('sha256')
    .update(Y.encodeSnapshot(Y.snapshot(doc)))
    .digest('base64url')
    .slice(0, 22);
}
