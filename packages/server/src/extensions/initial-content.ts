import * as Y from 'yjs';
import { TandemError } from '../errors.js';
import { importJson } from '../rooms/doc-edit.js';
import { checkUpdate } from '../yjs/update-check.js';
import type { InitialContent } from './extension.js';

/** Where plain text goes when the content does not name a field. */
export const DEFAULT_TEXT_FIELD = 'body';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A room's initial content as one Yjs update, checked like any client update (nesting, validity): a
 * loader's answer is input too.
 */
export function initialUpdate(content: InitialContent): Uint8Array {
  let update: Uint8Array;
  if (content instanceof Uint8Array) {
    update = content;
  } else if ('yjs' in content) {
    if (typeof content.yjs === 'string') {
      if (!BASE64.test(content.yjs)) throw new TandemError('invalid_update', 'initial content: yjs is not base64');
      update = new Uint8Array(Buffer.from(content.yjs, 'base64'));
    } else {
      update = content.yjs;
    }
  } else if ('text' in content) {
    if (typeof content.text !== 'string')
      throw new TandemError('invalid_request', 'initial content: text must be a string');
    const doc = new Y.Doc();
    doc.getText(content.field ?? DEFAULT_TEXT_FIELD).insert(0, content.text);
    update = Y.encodeStateAsUpdate(doc);
  } else if ('json' in content) {
    const doc = new Y.Doc();
    importJson(doc, content.json);
    update = Y.encodeStateAsUpdate(doc);
  } else {
    throw new TandemError('invalid_request', 'initial content must be Yjs bytes, { yjs }, { text, field } or { json }');
  }
  checkUpdate(update);
  return update;
}
