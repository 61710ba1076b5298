import * as Y from 'yjs';

/** A Yjs update inserting `text` into the text `t`, from a fixed client id (so tests are repeatable). */
export function textUpdate(text: string, clientID = 1): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}
