import { describe, expect, it } from 'vitest';
import { SaveTracker } from './save-tracker.js';

describe('SaveTracker', () => {
  it('is saved only once acks cover every change, in message order', () => {
    const t = new SaveTracker();
    t.changed();
    expect(t.sentUpdate()).toBe(1);
    t.changed();
    expect(t.sentUpdate()).toBe(2);
    expect(t.state(true, true)).toBe('saving');
    t.acked(1);
    expect(t.pendingUpdates).toBe(1);
    t.acked(2);
    expect(t.state(true, true)).toBe('saved');
    expect(t.lastSavedAt).not.toBeNull();
  });

  it('keeps changes of a dropped connection pending; the next sync step 2 carries them all', () => {
    const t = new SaveTracker();
    t.changed();
    t.sentUpdate();
    t.disconnected(); // the ack for message 1 never comes
    t.changed(); // typed while offline
    expect(t.state(false, true)).toBe('unsaved');
    expect(t.pendingUpdates).toBe(2);
    t.changed();
    expect(t.sentUpdate()).toBe(1); // sent right after the new socket opened
    expect(t.sentState()).toBe(2); // the answer to the server's state vector
    t.acked(1);
    expect(t.pendingUpdates).toBe(2);
    t.acked(2);
    expect(t.pendingUpdates).toBe(0);
  });

  it('an ack from before a reconnect does not retire changes of the new connection', () => {
    const t = new SaveTracker();
    t.changed();
    t.sentUpdate();
    t.disconnected();
    expect(t.acked(1)).toBe(false);
    expect(t.pendingUpdates).toBe(1);
  });

  it('a local source still loading keeps the state from saved until a step 2 after it is acked', () => {
    const t = new SaveTracker();
    t.hold();
    expect(t.state(true, true)).toBe('saving');
    expect(t.pendingUpdates).toBe(1);
    t.release();
    expect(t.state(true, true)).toBe('saving');
    const seq = t.sentState();
    t.acked(seq);
    expect(t.state(true, true)).toBe('saved');
  });
});

describe('SaveTracker before the first sync and for a read-only client', () => {
  it('is unknown, not saved, until something was acknowledged; unsaved once there are changes', () => {
    const t = new SaveTracker();
    expect(t.state(false, false)).toBe('unknown');
    t.changed();
    expect(t.state(false, false)).toBe('unsaved');
  });

  it('discards changes the server will never take, including those in flight', () => {
    const t = new SaveTracker();
    t.changed();
    t.sentUpdate();
    t.changed();
    expect(t.discard()).toBe(2);
    expect(t.pendingUpdates).toBe(0);
    expect(t.acked(1)).toBe(true);
    expect(t.pendingUpdates).toBe(0);
  });
});
