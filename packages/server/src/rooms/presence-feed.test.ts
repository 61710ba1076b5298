import { decodeMessage } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { RoomPresenceFeed } from './presence-feed.js';

/** The room's side: an Awareness other clients' states are applied to, as a Room holds it. */
function roomAwareness(): awarenessProtocol.Awareness {
  const awareness = new awarenessProtocol.Awareness(new Y.Doc());
  awareness.setLocalState(null);
  return awareness;
}

function publish(room: awarenessProtocol.Awareness, clientId: number, state: Record<string, unknown> | null): void {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  const client = new awarenessProtocol.Awareness(doc);
  const clock = room.meta.get(clientId)?.clock ?? 0;
  client.meta.set(clientId, { clock, lastUpdated: 0 });
  client.setLocalState(state);
  awarenessProtocol.applyAwarenessUpdate(room, awarenessProtocol.encodeAwarenessUpdate(client, [clientId]), 'client');
  client.destroy();
}

/** What a client that applies `frame` ends up seeing, starting from `seen`. */
function apply(seen: awarenessProtocol.Awareness, frame: Uint8Array | null): number[] {
  if (frame) {
    const message = decodeMessage(frame);
    if (message.type !== 'awareness') throw new Error(`not presence: ${message.type}`);
    awarenessProtocol.applyAwarenessUpdate(seen, message.update, 'server');
  }
  return [...seen.getStates().keys()].filter((id) => id !== seen.clientID).sort((a, b) => a - b);
}

describe('RoomPresenceFeed', () => {
  it('catches a client up from any version it confirmed, removals included', () => {
    const room = roomAwareness();
    const feed = new RoomPresenceFeed(room);
    publish(room, 1, { name: 'a' });
    publish(room, 2, { name: 'b' });
    feed.advance([1, 2]);
    const early = roomAwareness();
    expect(apply(early, feed.changedSince(0))).toEqual([1, 2]);
    const atOne = feed.version;
    publish(room, 3, { name: 'c' });
    feed.advance([3]);
    awarenessProtocol.removeAwarenessStates(room, [1], 'gone');
    feed.advance([1]);
    // From version 0: only who is here now. From the confirmed version: what changed, with 1's removal.
    expect(apply(roomAwareness(), feed.changedSince(0))).toEqual([2, 3]);
    expect(apply(early, feed.changedSince(atOne))).toEqual([2, 3]);
    expect(feed.changedSince(feed.version)).toBeNull();
    room.destroy();
    early.destroy();
  });

  it('forgets old removals beyond twice the present clients plus a margin, never a present one', () => {
    const room = roomAwareness();
    const feed = new RoomPresenceFeed(room);
    publish(room, 1, { name: 'stays' });
    feed.advance([1]);
    for (let id = 2; id < 1000; id++) {
      publish(room, id, { n: id });
      awarenessProtocol.removeAwarenessStates(room, [id], 'gone');
      feed.advance([id]);
    }
    const all = feed.changedSince(1);
    const message = decodeMessage(all!);
    const seen = roomAwareness();
    apply(seen, message.type === 'awareness' ? all : null);
    // The remembered removals are bounded; the present client is still reported from version 0.
    const remembered = [...seen.meta.keys()].filter((id) => id !== seen.clientID).length;
    expect(remembered).toBeLessThanOrEqual(2 * 1 + 256);
    expect(remembered).toBeGreaterThan(200);
    expect(apply(roomAwareness(), feed.changedSince(0))).toEqual([1]);
    room.destroy();
    seen.destroy();
  });
});
