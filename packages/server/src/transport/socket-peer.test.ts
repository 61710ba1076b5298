import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { TandemError } from '../errors.js';
import { SocketPeer } from './socket-peer.js';

/** The slice of a ws socket SocketPeer uses, with a buffer the test sets. */
function socket(bufferedAmount: number) {
  const sent: Uint8Array[] = [];
  const ws = {
    OPEN: 1,
    CLOSED: 3,
    readyState: 1,
    bufferedAmount,
    send: (frame: Uint8Array) => void sent.push(frame),
    close: () => undefined,
    terminate: () => undefined,
  };
  return { ws, sent };
}

function peer(ws: object, failures: TandemError[]): SocketPeer {
  return new SocketPeer(1, ws as unknown as WebSocket, 'r', false, 1000, {
    onFail: (_peer, error) => void failures.push(error),
    onSend: () => undefined,
  });
}

describe('SocketPeer send buffer', () => {
  it('counts the frame about to be queued against the limit', () => {
    const failures: TandemError[] = [];
    const { ws, sent } = socket(600);
    const p = peer(ws, failures);
    p.send(new Uint8Array(300)); // 600 + 300 fits in 1000
    expect(sent).toHaveLength(1);
    p.send(new Uint8Array(500)); // 600 + 500 does not
    expect(sent).toHaveLength(1);
    expect(failures.map((e) => e.code)).toEqual(['send_buffer_full']);
  });

  it('still sends one frame larger than the limit when nothing is queued (a big initial sync)', () => {
    const failures: TandemError[] = [];
    const { ws, sent } = socket(0);
    peer(ws, failures).send(new Uint8Array(5000));
    expect(sent).toHaveLength(1);
    expect(failures).toEqual([]);
  });
});
