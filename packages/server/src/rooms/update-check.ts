import { MAX_JSON_DEPTH, valueDepth } from '@tandem/protocol';
import * as Y from 'yjs';
import { TandemError } from '../errors.js';

/**
 * Refuses a Yjs update before it is integrated anywhere: malformed bytes, and values (`ContentAny`,
 * `ContentJSON`, `ContentEmbed`, `ContentFormat`, subdocument options) nested deeper than
 * MAX_JSON_DEPTH. Yjs accepts such values (JSON.parse does not recurse), but every later encoding of
 * the document (sync to a joiner, REST reads, snapshots) recurses into them and overflows the stack:
 * one integrated update would make the room unreadable for good. Decoding here is the same work Yjs
 * does when it applies the update, paid once more per update for the guarantee.
 */
export function checkUpdate(update: Uint8Array): void {
  let structs: (Y.Item | Y.GC | Y.Skip)[];
  try {
    structs = Y.decodeUpdate(update).structs;
  } catch (cause) {
    // lib0's readAny recurses too: a value nested past the stack limit fails here, as malformed.
    throw new TandemError('invalid_update', 'malformed Yjs update', { cause });
  }
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) continue;
    const value = contentValue(struct.content);
    if (value !== undefined && valueDepth(value) > MAX_JSON_DEPTH) {
      throw new TandemError('invalid_update', `Yjs update carries a value nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
  }
}

/** The JSON-like value an item carries, for the kinds of content that can nest. */
function contentValue(content: Y.Item['content']): unknown {
  if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) return content.arr;
  if (content instanceof Y.ContentEmbed) return content.embed;
  if (content instanceof Y.ContentFormat) return content.value;
  if (content instanceof Y.ContentDoc) return content.opts;
  return undefined;
}
