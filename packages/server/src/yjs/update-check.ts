import { MAX_JSON_DEPTH, valueDepth } from '@tandem/protocol';
import * as Y from 'yjs';
import { TandemError } from '../errors.js';

type DeleteSet = ReturnType<typeof Y.decodeUpdate>['ds'];

/** A Yjs update as checkUpdate decoded it: its structs (Skips included) and its delete set. */
export interface DecodedUpdate {
  structs: (Y.Item | Y.GC | Y.Skip)[];
  ds: DeleteSet;
}

/**
 * Refuses a Yjs update before it is integrated anywhere: malformed bytes, items that refer to their own
 * client's future (they decode, but integrating them throws), and values (`ContentAny`,
 * `ContentJSON`, `ContentEmbed`, `ContentFormat`, subdocument options) nested deeper than
 * MAX_JSON_DEPTH. Yjs accepts such values (JSON.parse does not recurse), but every later encoding of
 * the document (sync to a joiner, REST reads, snapshots) recurses into them and overflows the stack:
 * one integrated update would make the room unreadable for good. The decoded update is returned: the
 * room's DocumentState accepts it from its struct ranges without decoding it again.
 */
export function checkUpdate(update: Uint8Array): DecodedUpdate {
  let decoded: DecodedUpdate;
  try {
    decoded = Y.decodeUpdate(update);
  } catch (cause) {
    // lib0's readAny recurses too: a value nested past the stack limit fails here, as malformed.
    throw new TandemError('invalid_update', 'malformed Yjs update', { cause });
  }
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item)) continue;
    if (!referencesEarlier(struct)) {
      // It decodes, but integrating it throws (Yjs looks up an item that cannot exist yet). The room
      // forwards and stores updates without integrating them, so this is refused here or never.
      throw new TandemError('invalid_update', 'Yjs update refers to an item its own client has not created yet');
    }
    const value = contentValue(struct.content);
    if (value !== undefined && valueDepth(value) > MAX_JSON_DEPTH) {
      throw new TandemError('invalid_update', `Yjs update carries a value nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
  }
  return decoded;
}

/**
 * An item's origins and parent name items that existed when it was made; those of its own client
 * therefore have smaller clocks. Other clients' may be missing (the update then waits for them).
 */
function referencesEarlier(item: Y.Item): boolean {
  const parent = item.parent instanceof Y.ID ? item.parent : null;
  return !ahead(item.origin, item.id) && !ahead(item.rightOrigin, item.id) && !ahead(parent, item.id);
}

function ahead(ref: Y.ID | null, id: Y.ID): boolean {
  return ref !== null && ref.client === id.client && ref.clock >= id.clock;
}

/** The JSON-like value an item carries, for the kinds of content that can nest. */
function contentValue(content: Y.Item['content']): unknown {
  if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) return content.arr;
  if (content instanceof Y.ContentEmbed) return content.embed;
  if (content instanceof Y.ContentFormat) return content.value;
  if (content instanceof Y.ContentDoc) return content.opts;
  return undefined;
}
