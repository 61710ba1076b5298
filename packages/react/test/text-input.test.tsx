// @vitest-environment jsdom
import { TandemProvider, type WebSocketConstructor } from '@tandem/client';
import { act, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { eventually } from '../../server/test/support/eventually.js';
import { startTestServer } from '../../server/test/support/server.js';
import { TandemRoom, useTextInput } from '../src/index.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** Types into a React-controlled field the way a browser does: the value changes, then `input` fires. */
function type(field: HTMLTextAreaElement, value: string): void {
  const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!;
  act(() => {
    setter.call(field, value);
    field.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

describe('useTextInput', () => {
  it('typing edits the shared text; a remote insert before the caret moves the caret along', async () => {
    const server = await startTestServer();
    onTestFinished(async () => {
      await server.drain();
    });
    function Body(): ReactNode {
      return <textarea data-testid="body" {...useTextInput('body')} />;
    }
    const container = document.createElement('div');
    document.body.appendChild(container);
    const root = createRoot(container);
    act(() =>
      root.render(
        <TandemRoom url={server.syncUrl} room="caret" WebSocketPolyfill={NodeWebSocket}>
          <Body />
        </TandemRoom>,
      ),
    );
    onTestFinished(() => act(() => root.unmount()));
    const field = container.querySelector('textarea')!;
    const other = new TandemProvider({
      url: server.syncUrl,
      room: 'caret',
      doc: new Y.Doc(),
      WebSocketPolyfill: NodeWebSocket,
    });
    onTestFinished(() => other.destroy());
    await other.whenSynced();

    field.focus();
    type(field, 'hello world');
    await eventually(() => expect(other.doc!.getText('body').toString()).toBe('hello world'));
    field.setSelectionRange(5, 5); // after "hello"
    other.doc!.getText('body').insert(0, 'XX');
    await eventually(() => expect(field.value).toBe('XXhello world'));
    expect([field.selectionStart, field.selectionEnd]).toEqual([7, 7]);
    // An edit after the caret leaves it where it is.
    other.doc!.getText('body').insert(13, '!');
    await eventually(() => expect(field.value).toBe('XXhello world!'));
    expect(field.selectionStart).toBe(7);
    // The smallest edit: typing one character in the middle is one insert, not a rewrite.
    type(field, 'XXhello, world!');
    await eventually(() => expect(other.doc!.getText('body').toString()).toBe('XXhello, world!'));
  });
});
