import { decodeMessage, type Message } from '@tandem/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { TandemError } from '../errors.js';
import { silentLogger } from '../ops/logger.js';
import { Metrics } from '../ops/metrics.js';
import { MemoryStore } from '../storage/memory/memory-store.js';
import { CompactionScheduler } from './compaction-scheduler.js';
import type { Peer } from './peer.js';
import { DocumentState } from './document-state.js';
import { FlushLoad, FULL_WINDOW_PEERS } from './flush-load.js';
import { DOC_IDLE_MS, Room } from './room.js';
import { RoomPersistence } from './room-persistence.js';

class FakePeer implements Peer {
  readonly received: Message[] = [];
  failedWith: TandemError | null = null;
  readOnly = false;
  tandem = false;
  constructor(
    readonly id: number,
    readonly user: string,
  ) {}
  send(frame: Uint8Array): void {
    this.received.push(decodeMessage(frame));
  }
  fail(error: TandemError): void {
    this.failedWith = error;
  }
  /** Sync updates received (each is one frame). */
  get updates(): Uint8Array[] {
    return this.received.flatMap((m) => (m.type === 'sync-update' ? [m.update] : []));
  }
}

/** Configured so that the three peers of these tests get a 30 ms window. */
const WINDOW_MS = 30;
const CONFIGURED_WINDOW_MS = (WINDOW_MS * FULL_WINDOW_PEERS) / 3;

/** A process load that always batches, for the tests of the window itself. */
const alwaysBatch = (): FlushLoad => new FlushLoad({ batchAbove: 0, busyShare: () => 0 });

function makeRoom({
  store = new MemoryStore(),
  flushWindowMs = CONFIGURED_WINDOW_MS,
  load = alwaysBatch(),
} = {}): Room {
  const metrics = new Metrics();
  return new Room(
    'r',
    new DocumentState(),
    (room) =>
      new RoomPersistence(
        'r',
        room,
        store,
        silentLogger(),
        { compactAfterUpdates: 1000, compactions: new CompactionScheduler() },
        { lastSeq: 0, tailLength: 0, tailBytes: 0, snapshotBytes: 0 },
        metrics,
      ),
    silentLogger(),
    {
      viewerPresence: true,
      maxDocumentBytes: 1 << 20,
      maxPresenceBytes: 8192,
      maxRoomPresenceBytes: 1 << 20,
      flushWindowMs,
      load,
    },
    { bytes: 0, existed: true },
    metrics,
  );
}

/** Two peers in a room that flushes at once, with the store it writes to. */
function storedPair(): { store: MemoryStore; solo: Room; x: FakePeer; y: FakePeer } {
  const store = new MemoryStore();
  const solo = makeRoom({ store, flushWindowMs: 0 });
  const [x, y] = [new FakePeer(1, 'x'), new FakePeer(2, 'y')];
  solo.addPeer(x);
  solo.addPeer(y);
  return { store, solo, x, y };
}

/** One client's edit as the update bytes it would send. */
function edit(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

const textOf = (updates: Uint8Array[]): string => {
  const doc = new Y.Doc();
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc.getText('t').toString();
};

describe('Room flush window', () => {
  let room: Room;
  let a: FakePeer;
  let b: FakePeer;
  let c: FakePeer;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    room = makeRoom();
    [a, b, c] = [new FakePeer(1, 'a'), new FakePeer(2, 'b'), new FakePeer(3, 'c')];
    for (const p of [a, b, c]) room.addPeer(p);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const send = (peer: Peer, update: Uint8Array) => room.receive(peer, { type: 'sync-update', update });

  it('flushes a quiet room at the end of the turn', async () => {
    send(a, edit('x'));
    expect(b.updates).toHaveLength(0); // not applied or sent synchronously
    await vi.advanceTimersByTimeAsync(0);
    expect(textOf(b.updates)).toBe('x');
    expect(room.doc.getText('t').toString()).toBe('x');
  });

  it('in a busy room, batches everything within the window into one frame per peer', async () => {
    send(a, edit('1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(b.updates).toHaveLength(1);
    // Arrives 5 ms after the last flush: waits out the window, gathering what follows.
    await vi.advanceTimersByTimeAsync(5);
    send(a, edit('2'));
    await vi.advanceTimersByTimeAsync(10);
    send(c, edit('3'));
    await vi.advanceTimersByTimeAsync(10);
    send(a, edit('4'));
    // 25 ms after the first flush: 2 ms to go.
    await vi.advanceTimersByTimeAsync(WINDOW_MS - 27);
    expect(b.updates).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3);
    expect(b.updates).toHaveLength(2);
    expect(textOf(b.updates).split('').sort().join('')).toBe('1234');
    // Mixed origins: everyone gets the frame, the senders included (each lacks the other's edits);
    // the first frame was a's alone, so a did not get it back.
    expect(a.updates).toHaveLength(1);
    expect(c.updates).toHaveLength(2);
  });

  it('waits out the window only while the process is loaded', async () => {
    const load = new FlushLoad({ batchAbove: 1000, busyShare: () => 0 });
    const adaptive = makeRoom({ load });
    const [x, y, z] = [new FakePeer(1, 'x'), new FakePeer(2, 'y'), new FakePeer(3, 'z')];
    for (const p of [x, y, z]) adaptive.addPeer(p);
    const update = (text: string) => adaptive.receive(x, { type: 'sync-update', update: edit(text) });
    update('1');
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(5);
    update('2'); // 5 ms after the last flush, but the process has headroom: sent at the end of the turn
    await vi.advanceTimersByTimeAsync(0);
    expect(y.updates).toHaveLength(2);
    expect(load.demand).toBe(6); // two changes, three peers each

    load.demand += 1_000_000; // far past batchAbove × 1.5 over any sample length
    load.sample();
    expect(load.windowScale).toBe(1);
    await vi.advanceTimersByTimeAsync(5);
    update('3'); // now it waits out the window
    await vi.advanceTimersByTimeAsync(0);
    expect(y.updates).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(textOf(y.updates)).toHaveLength(3);
  });

  it('gives bigger rooms a longer window, in proportion to their peers', async () => {
    for (let i = 0; i < 3; i++) room.addPeer(new FakePeer(10 + i, `extra${i}`));
    send(a, edit('1'));
    await vi.advanceTimersByTimeAsync(0);
    send(a, edit('2'));
    await vi.advanceTimersByTimeAsync(WINDOW_MS + 5);
    expect(b.updates).toHaveLength(1); // six peers: twice the window
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(textOf(b.updates)).toHaveLength(2);
  });

  it('does not echo a batch back to the only peer it came from', async () => {
    send(a, edit('mine'));
    await vi.advanceTimersByTimeAsync(0);
    expect(textOf(b.updates)).toBe('mine');
    expect(textOf(c.updates)).toBe('mine');
    expect(a.updates).toHaveLength(0);
  });

  it('refuses a malformed update on receipt, before anything is integrated; the rest of the batch applies', async () => {
    send(a, edit('warm'));
    await vi.advanceTimersByTimeAsync(0);
    send(a, edit('ok'));
    expect(() => send(c, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(/malformed Yjs update/);
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(a.failedWith).toBeNull();
    expect(room.doc.getText('t').toString()).toContain('ok');
    expect(textOf(b.updates)).toContain('ok');
  });

  it('counts updates waiting to be applied against the document size limit', () => {
    const big = edit('y'.repeat(600 * 1024));
    send(a, big);
    expect(() => send(b, big)).toThrow(/document limit/);
  });

  it('forwards a lone update as received, deletions included, and drops one that adds nothing', async () => {
    const writer = new Y.Doc();
    const captured: Uint8Array[] = [];
    writer.on('update', (u: Uint8Array) => captured.push(u));
    writer.getText('t').insert(0, 'hello');
    writer.getText('t').delete(0, 1); // a delete-only update
    expect(captured).toHaveLength(2);
    for (const update of captured) {
      send(a, update);
      await vi.advanceTimersByTimeAsync(WINDOW_MS);
    }
    expect(b.updates).toEqual(captured);
    expect(room.doc.getText('t').toString()).toBe('ello');

    send(c, captured[0]!); // already applied: nothing new to send or store
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(b.updates).toHaveLength(2);
    expect(a.updates).toHaveLength(0);
  });

  it('stores exactly what it forwards', async () => {
    const { store, solo, x, y } = storedPair();
    solo.receive(x, { type: 'sync-update', update: edit('one') });
    await vi.advanceTimersByTimeAsync(0);
    solo.receive(x, { type: 'sync-update', update: edit('two') });
    solo.receive(y, { type: 'sync-update', update: edit('three') });
    await vi.advanceTimersByTimeAsync(0);
    await solo.persistence.idle();
    const stored = await store.loadRoom('r');
    expect(textOf(stored!.updates)).toBe(solo.doc.getText('t').toString());
    expect(stored!.updates[0]).toEqual(y.updates[0]);
  });

  it('refuses an update whose delete set is broken before its structs are integrated', async () => {
    const { store, solo, x, y } = storedPair();
    // Yjs would integrate the structs before reading the broken delete set; the check reads it first.
    const valid = edit('partial');
    expect(() => solo.receive(x, { type: 'sync-update', update: new Uint8Array([...valid.slice(0, -1), 5]) })).toThrow(
      /malformed Yjs update/,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(solo.doc.getText('t').toString()).toBe('');
    expect(y.updates).toHaveLength(0);
    await solo.persistence.idle();
    expect(await store.loadRoom('r')).toBeNull();
  });
});

describe('Room state: binary until a document is needed', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const update = (peer: Peer, room: Room, bytes: Uint8Array) =>
    room.receive(peer, { type: 'sync-update', update: bytes });
  /** What a joiner with nothing gets: the room's state vector first, then its whole state on asking. */
  function join(room: Room, id: number): { peer: FakePeer; vector: Map<number, number>; text: string } {
    const peer = new FakePeer(id, `joiner${id}`);
    room.addPeer(peer);
    const step1 = peer.received.find((m) => m.type === 'sync-step1');
    room.receive(peer, { type: 'sync-step1', stateVector: new Uint8Array([0]) });
    const step2 = peer.received.find((m) => m.type === 'sync-step2');
    return {
      peer,
      vector: Y.decodeStateVector(step1?.type === 'sync-step1' ? step1.stateVector : new Uint8Array([0])),
      text: textOf(step2?.type === 'sync-step2' ? [step2.update] : []),
    };
  }

  it('relays, stores and serves joiners without materialising a document; a resend costs nothing', async () => {
    const { store, solo, x, y } = storedPair();
    const one = edit('one');
    update(x, solo, one);
    await vi.advanceTimersByTimeAsync(0);
    update(y, solo, one);
    await vi.advanceTimersByTimeAsync(0);
    expect(x.updates).toHaveLength(0);
    expect(y.updates).toEqual([one]);
    await solo.persistence.idle();
    expect((await store.loadRoom('r'))!.updates).toHaveLength(1);
    const joiner = join(solo, 3);
    expect(joiner.text).toBe('one');
    expect([...joiner.vector.values()]).toEqual([3]);
    expect(solo.hasLiveDoc).toBe(false);
  });

  it('materialises the document on use, keeps it in step, and goes back to binary once it is idle', async () => {
    const { solo, x, y } = storedPair();
    update(x, solo, edit('a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(solo.doc.getText('t').toString()).toBe('a');
    expect(solo.hasLiveDoc).toBe(true);
    update(y, solo, edit('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(solo.doc.getText('t').toString()).toHaveLength(2);
    solo.releaseIdleDoc();
    expect(solo.hasLiveDoc).toBe(true); // used just now
    await vi.advanceTimersByTimeAsync(DOC_IDLE_MS);
    solo.releaseIdleDoc();
    expect(solo.hasLiveDoc).toBe(false);
    update(x, solo, edit('c'));
    await vi.advanceTimersByTimeAsync(0);
    expect(join(solo, 3).text.split('').sort().join('')).toBe('abc');
    expect(solo.hasLiveDoc).toBe(false);
  });

  it("folds a quiet room's small updates together, but not a busy one's", async () => {
    const { solo, x } = storedPair();
    for (const text of ['p', 'q', 'r']) {
      update(x, solo, edit(text));
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(solo.unfoldedUpdates).toBe(3);
    solo.foldIfQuiet();
    expect(solo.unfoldedUpdates).toBe(3); // flushed just now
    await vi.advanceTimersByTimeAsync(2_500);
    solo.foldIfQuiet();
    expect(solo.unfoldedUpdates).toBe(0);
    expect(join(solo, 3).text.split('').sort().join('')).toBe('pqr');
  });

  it('writes a snapshot from the binary state that loads as the same document', async () => {
    const { solo, x } = storedPair();
    for (const text of ['p', 'q', 'r']) {
      update(x, solo, edit(text));
      await vi.advanceTimersByTimeAsync(0);
    }
    const snapshot = solo.snapshotState();
    expect(solo.hasLiveDoc).toBe(false);
    expect(textOf([snapshot]).split('').sort().join('')).toBe('pqr');
  });
});

describe('Room presence expiry', () => {
  /** An awareness update carrying one client's state, as a y-protocols client sends it. */
  function presence(clientId: number, state: Record<string, unknown>): Uint8Array {
    const doc = new Y.Doc();
    doc.clientID = clientId;
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState(state);
    const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [clientId]);
    awareness.destroy();
    return update;
  }

  it('removes states not renewed for 30 s and tells the peers, keeping the fresh ones', async () => {
    const { solo, x, y } = storedPair();
    solo.receive(x, { type: 'awareness', update: presence(101, { name: 'x' }) });
    solo.receive(y, { type: 'awareness', update: presence(202, { name: 'y' }) });
    const renewedAt = Date.now() + 20_000;
    solo.awareness.meta.get(202)!.lastUpdated = renewedAt;
    solo.expirePresence(renewedAt);
    expect([...solo.awareness.getStates().keys()].sort()).toEqual([101, 202]);
    solo.expirePresence(Date.now() + awarenessProtocol.outdatedTimeout + 1);
    expect([...solo.awareness.getStates().keys()]).toEqual([202]);
    await solo.flush();
    const removal = y.received.filter((m) => m.type === 'awareness').at(-1)!;
    const seen = new awarenessProtocol.Awareness(new Y.Doc());
    awarenessProtocol.applyAwarenessUpdate(seen, presence(101, { name: 'x' }), null);
    awarenessProtocol.applyAwarenessUpdate(
      seen,
      removal.type === 'awareness' ? removal.update : new Uint8Array(),
      null,
    );
    expect(seen.getStates().has(101)).toBe(false);
    seen.destroy();
    solo.destroy();
  });

  it('the same state through a new connection of its user moves it there: the old one leaving removes nothing', async () => {
    const { solo, x, y } = storedPair();
    const again = new FakePeer(3, 'x');
    again.tandem = true;
    y.tandem = true;
    // A stock client of the same user echoes what it receives: that is no takeover.
    const echo = new FakePeer(4, 'x');
    solo.addPeer(again);
    solo.addPeer(echo);
    const state = presence(101, { name: 'x' });
    solo.receive(x, { type: 'awareness', update: state });
    solo.receive(echo, { type: 'awareness', update: state });
    solo.removePeer(echo);
    expect([...solo.awareness.getStates().keys()]).toEqual([101]);
    // A transport switch re-sends the unchanged state (same clock); another user's copy is not a takeover.
    solo.receive(again, { type: 'awareness', update: state });
    solo.receive(y, { type: 'awareness', update: state });
    solo.removePeer(x);
    expect([...solo.awareness.getStates().keys()]).toEqual([101]);
    solo.removePeer(y);
    expect([...solo.awareness.getStates().keys()]).toEqual([101]);
    solo.removePeer(again);
    expect([...solo.awareness.getStates().keys()]).toEqual([]);
    await solo.flush();
    solo.destroy();
  });

  it('leaves no timer of its own per room: the registry sweeps every room at once', () => {
    const { solo } = storedPair();
    const timer = (solo.awareness as unknown as { _checkInterval: { _destroyed?: boolean } })._checkInterval;
    expect(timer._destroyed).toBe(true);
    solo.destroy();
  });
});
