import * as prng from 'lib0/prng';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from './decode.js';
import {
  encodeAck,
  encodeAuthDenied,
  encodeAwareness,
  encodeError,
  encodeEvent,
  encodeHello,
  encodePing,
  encodePong,
  encodePublish,
  encodePublished,
  encodeQueryAwareness,
  encodeStatus,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  encodeToken,
} from './encode.js';
import { ProtocolError } from './errors.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

describe('decodeMessage', () => {
  it('round-trips every message type', () => {
    const payload = bytes(1, 2, 3);
    expect(decodeMessage(encodeSyncStep1(payload))).toEqual({ type: 'sync-step1', stateVector: payload });
    expect(decodeMessage(encodeSyncStep2(payload))).toEqual({ type: 'sync-step2', update: payload });
    expect(decodeMessage(encodeSyncUpdate(payload))).toEqual({ type: 'sync-update', update: payload });
    expect(decodeMessage(encodeAwareness(payload))).toEqual({ type: 'awareness', update: payload });
    expect(decodeMessage(encodeQueryAwareness())).toEqual({ type: 'query-awareness' });
    expect(decodeMessage(encodeAuthDenied('nope'))).toEqual({ type: 'auth-denied', reason: 'nope' });
    expect(decodeMessage(encodeAck(300))).toEqual({ type: 'ack', seq: 300 });
    expect(decodeMessage(encodeError('forbidden', 'no'))).toEqual({ type: 'error', code: 'forbidden', message: 'no' });
    expect(decodeMessage(encodeHello({ clientId: 'c1', capabilities: ['ack'] }))).toEqual({
      type: 'hello',
      hello: { clientId: 'c1', capabilities: ['ack'] },
    });
    const event = { id: '7', type: 'note', room: 'r', ts: 1, user: null, data: { a: 1 } };
    expect(decodeMessage(encodeEvent(event))).toEqual({ type: 'event', event });
    const status = { room: 'r', serverTime: 5, peers: 2, readOnly: false };
    expect(decodeMessage(encodeStatus(status))).toEqual({ type: 'status', status });
    expect(decodeMessage(encodeToken('a.b.c'))).toEqual({ type: 'token', token: 'a.b.c' });
    expect(decodeMessage(encodePing())).toEqual({ type: 'ping' });
    expect(decodeMessage(encodePong())).toEqual({ type: 'pong' });
    const publish = { ref: 'r1', type: 'note', data: { n: 1 }, idempotencyKey: 'k' };
    expect(decodeMessage(encodePublish(publish))).toEqual({ type: 'publish', publish });
    const stored = { id: '3', type: 'note', room: 'r', ts: 1, user: 'ada', data: null };
    expect(decodeMessage(encodePublished({ ref: 'r1', event: stored }))).toEqual({
      type: 'published',
      published: { ref: 'r1', event: stored },
    });
    const error = { code: 'forbidden', message: 'no' };
    expect(decodeMessage(encodePublished({ ref: 'r2', error }))).toEqual({
      type: 'published',
      published: { ref: 'r2', error },
    });
    expect(() => decodeMessage(encodePublish({ ref: '', type: 'x' }))).toThrow(ProtocolError);
    expect(() => decodeMessage(encodePublish({ ref: 'r', type: 'x', idempotencyKey: '' }))).toThrow(ProtocolError);
  });

  it.each([
    ['empty frame', bytes(), 'truncated'],
    ['truncated varint', bytes(0x80), 'truncated'],
    ['varint too long', bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 'varint_overflow'],
    ['unknown type', bytes(42), 'unknown_message_type'],
    ['unknown sync type', bytes(0, 9, 0), 'unknown_sync_type'],
    ['length past the end', bytes(0, 2, 0xff, 0xff, 0x03, 1, 2), 'length_out_of_range'],
    ['huge length prefix', bytes(1, 0xff, 0xff, 0xff, 0xff, 0x0f), 'length_out_of_range'],
    ['trailing bytes', bytes(3, 0), 'trailing_bytes'],
    ['hello not JSON', bytes(100, 1, 0x7b), 'invalid_payload'],
    ['hello not an object', bytes(100, 2, 0x31, 0x32), 'invalid_payload'],
    ['invalid utf-8', bytes(103, 1, 0xff, 0), 'invalid_payload'],
  ])('rejects %s with a ProtocolError', (_name, frame, code) => {
    expect(() => decodeMessage(frame)).toThrow(ProtocolError);
    try {
      decodeMessage(frame);
    } catch (err) {
      expect((err as ProtocolError).code).toBe(code);
    }
  });

  it('throws only ProtocolError on random bytes (seeded fuzz)', () => {
    const seed = 20261123;
    const gen = prng.create(seed);
    for (let i = 0; i < 20_000; i++) {
      const frame = prng.uint8Array(gen, prng.int32(gen, 0, 24));
      // Bias towards real message types so the inner decoders get exercised.
      if (frame.length > 0 && prng.bool(gen)) frame[0] = prng.oneOf(gen, [0, 1, 2, 3, 100, 101, 102, 103, 104, 105]);
      try {
        decodeMessage(frame);
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          throw new Error(`seed ${seed} iteration ${i}: ${String(err)} for [${frame.join(',')}]`);
        }
      }
    }
  });
});
