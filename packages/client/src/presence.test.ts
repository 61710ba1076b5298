import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { colorFor, Presence } from './presence.js';

/** Two awareness instances wired to each other, as two clients of one room would be. */
function pair(): [awarenessProtocol.Awareness, awarenessProtocol.Awareness] {
  const a = new awarenessProtocol.Awareness(new Y.Doc());
  const b = new awarenessProtocol.Awareness(new Y.Doc());
  const forward = (from: awarenessProtocol.Awareness, to: awarenessProtocol.Awareness) =>
    from.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      const changed = [...added, ...updated, ...removed];
      awarenessProtocol.applyAwarenessUpdate(to, awarenessProtocol.encodeAwarenessUpdate(from, changed), 'remote');
    });
  forward(a, b);
  forward(b, a);
  return [a, b];
}

describe('Presence', () => {
  it('gives a user a stable colour from its id unless one is set', () => {
    expect(colorFor('ada')).toBe(colorFor('ada'));
    expect(new Set(['ada', 'bob', 'cy', 'dee', 'eve'].map(colorFor)).size).toBeGreaterThan(1);
    const [a] = pair();
    new Presence(a).setUser({ id: 'ada', name: 'Ada' });
    expect(a.getLocalState()).toEqual({ user: { id: 'ada', name: 'Ada', color: colorFor('ada') } });
    new Presence(a).setUser({ id: 'ada', color: '#000' });
    expect((a.getLocalState()!.user as { color: string }).color).toBe('#000');
  });

  it('lists others one entry per user, however many tabs, with the latest state', () => {
    const [tab1, viewer] = pair();
    const tab2 = new awarenessProtocol.Awareness(new Y.Doc());
    tab2.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) =>
      awarenessProtocol.applyAwarenessUpdate(
        viewer,
        awarenessProtocol.encodeAwarenessUpdate(tab2, [...added, ...updated, ...removed]),
        'remote',
      ),
    );
    new Presence(tab1).setUser({ id: 'ada', name: 'Ada' });
    new Presence(tab2).setUser({ id: 'ada', name: 'Ada' });
    new Presence(tab2).update({ cursor: 7 });
    const seen = new Presence(viewer);
    seen.setUser({ id: 'vic' });
    const others = seen.others();
    expect(others).toHaveLength(1);
    expect(others[0]).toMatchObject({ key: 'ada', user: { name: 'Ada' } });
    expect(others[0]!.clientIds).toEqual([tab1.clientID, tab2.clientID].sort((x, y) => x - y));
    expect(others[0]!.state).toMatchObject({ cursor: 7 });
    new Presence(tab1).clear();
    new Presence(tab2).clear();
    expect(seen.others()).toEqual([]);
  });
});
