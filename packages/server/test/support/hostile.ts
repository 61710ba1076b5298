import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

/** JSON text nested `depth` arrays deep: `[[[…]]]`. */
export const nestedJson = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** A value nested `depth` arrays deep, built without recursion. */
export function nestedValue(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

/**
 * A Yjs update inserting an embed whose JSON is nested `depth` deep. Yjs itself could not encode it
 * (JSON.stringify overflows), so a shallow embed of the same length is encoded and its JSON swapped.
 */
export function embedBombUpdate(depth: number, field = 't'): Uint8Array {
  const bomb = nestedJson(depth);
  const placeholder = { k: 'x'.repeat(bomb.length - 8) };
  const doc = new Y.Doc();
  doc.getText(field).insertEmbed(0, placeholder);
  const update = Buffer.from(Y.encodeStateAsUpdate(doc));
  const at = update.indexOf(Buffer.from(JSON.stringify(placeholder)));
  if (at < 0) throw new Error('placeholder not found in the encoded update');
  Buffer.from(bomb).copy(update, at);
  return new Uint8Array(update);
}

/** An awareness update (y-protocols format) carrying one client's raw state text. */
export function awarenessUpdate(clientID: number, clock: number, state: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, clientID);
  encoding.writeVarUint(encoder, clock);
  encoding.writeVarString(encoder, state);
  return encoding.toUint8Array(encoder);
}
