import type { Awareness } from 'y-protocols/awareness';

/** What a client says about its user; `id` groups several tabs of one user into one entry. */
export interface PresenceUser {
  id?: string;
  name?: string;
  color?: string;
  [field: string]: unknown;
}

/** One user present in the room, however many tabs or devices they have open. */
export interface Other {
  /** `user.id`, else the name, else the awareness client id (as a string). */
  key: string;
  user: PresenceUser;
  /** Every client (tab) of this user. */
  clientIds: number[];
  /** The state of the most recently updated of those clients. */
  state: Record<string, unknown>;
}

// Distinct at a glance on light and dark backgrounds.
const PALETTE = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#42d4f4',
  '#f032e6',
  '#469990',
  '#9a6324',
  '#800000',
];

/** The same colour for the same user id, everywhere (FNV-1a over the id). */
export function colorFor(id: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return PALETTE[hash % PALETTE.length]!;
}

/**
 * Presence on top of y-protocols awareness: the local user under `user` plus any fields, and the
 * others grouped per user. Editors such as y-codemirror.next read `user.name` / `user.color` and keep
 * their own cursor field in the same state.
 */
export class Presence {
  constructor(private readonly awareness: Awareness) {}

  /** Sets who this client is; the colour defaults to one derived from the id (or name). */
  setUser(user: PresenceUser): void {
    const key = user.id ?? user.name;
    const color = user.color ?? (key ? colorFor(key) : undefined);
    this.awareness.setLocalStateField('user', { ...user, ...(color ? { color } : {}) });
  }

  /** Merges fields into this client's state (a cursor, a selection, a pointer position…). */
  update(fields: Record<string, unknown>): void {
    this.awareness.setLocalState({ ...(this.awareness.getLocalState() ?? {}), ...fields });
  }

  /** Removes this client's presence (others see it leave at once). */
  clear(): void {
    this.awareness.setLocalState(null);
  }

  get mine(): Record<string, unknown> | null {
    return this.awareness.getLocalState();
  }

  /** Everyone else, one entry per user, in a stable order (by key). */
  others(): Other[] {
    const byKey = new Map<string, Other & { clock: number }>();
    const meta = this.awareness.meta;
    for (const [clientId, state] of this.awareness.getStates()) {
      if (clientId === this.awareness.clientID) continue;
      const user = (state.user ?? {}) as PresenceUser;
      const key = user.id ?? user.name ?? String(clientId);
      const clock = meta.get(clientId)?.lastUpdated ?? 0;
      const entry = byKey.get(key);
      if (!entry) {
        byKey.set(key, { key, user, clientIds: [clientId], state, clock });
        continue;
      }
      entry.clientIds.push(clientId);
      if (clock >= entry.clock) Object.assign(entry, { user, state, clock });
    }
    return [...byKey.values()]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ key, user, clientIds, state }) => ({ key, user, clientIds: clientIds.sort((x, y) => x - y), state }));
  }

  /** Called whenever anyone's presence changed; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    const handler = (): void => listener();
    this.awareness.on('change', handler);
    return () => this.awareness.off('change', handler);
  }
}
