import { jsonTextDepth, MAX_JSON_DEPTH } from '@tandem/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { TandemError } from '../errors.js';

/** One client's entry in an awareness update: its state is JSON text (`null` removes the client). */
export interface AwarenessEntry {
  clientID: number;
  clock: number;
  state: string;
  /** UTF-8 size of `state`. */
  bytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an awareness update's entries and refuses, before any state is parsed, one larger than
 * `maxStateBytes` (presence_too_large) or nested deeper than MAX_JSON_DEPTH (invalid_awareness):
 * y-protocols parses each state on apply and stringifies it again for every later frame, so a state
 * that cannot be stringified would throw inside a flush. Malformed bytes are invalid_awareness.
 */
export function readAwarenessEntries(update: Uint8Array, maxStateBytes: number): AwarenessEntry[] {
  const entries: AwarenessEntry[] = [];
  let tooLarge = 0;
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      const clientID = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const raw = decoding.readVarUint8Array(decoder);
      if (raw.length > maxStateBytes) {
        tooLarge = raw.length;
        break;
      }
      entries.push({ clientID, clock, state: utf8.decode(raw), bytes: raw.length });
    }
  } catch (cause) {
    throw new TandemError('invalid_awareness', 'malformed awareness update', { cause });
  }
  if (tooLarge > 0) {
    throw new TandemError(
      'presence_too_large',
      `a presence state is limited to ${maxStateBytes} bytes of JSON (got ${tooLarge})`,
    );
  }
  for (const entry of entries) {
    if (jsonTextDepth(entry.state) > MAX_JSON_DEPTH) {
      throw new TandemError('invalid_awareness', `presence state nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
  }
  return entries;
}

/** Encodes entries back into an awareness update (after some were dropped). */
export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientID);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, entry.state);
  }
  return encoding.toUint8Array(encoder);
}
