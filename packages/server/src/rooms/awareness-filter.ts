import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * Drops the entries of an awareness update whose client id `mayWrite` rejects, so one peer cannot
 * overwrite or remove another peer's presence. Returns the update unchanged when nothing was dropped,
 * null when nothing is left. Throws on malformed input (the caller maps that to invalid_awareness).
 */
export function filterAwarenessUpdate(update: Uint8Array, mayWrite: (clientID: number) => boolean): Uint8Array | null {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const kept: { clientID: number; clock: number; state: string }[] = [];
  let dropped = false;
  for (let i = 0; i < count; i++) {
    const clientID = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    if (mayWrite(clientID)) kept.push({ clientID, clock, state });
    else dropped = true;
  }
  if (!dropped) return update;
  if (kept.length === 0) return null;
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, kept.length);
  for (const entry of kept) {
    encoding.writeVarUint(encoder, entry.clientID);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, entry.state);
  }
  return encoding.toUint8Array(encoder);
}
