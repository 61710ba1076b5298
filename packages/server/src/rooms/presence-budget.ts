import type { AwarenessEntry } from './awareness-entries.js';

/**
 * The JSON size of every presence state in a room and their sum, bounded by `max`: every joiner gets
 * all states in one frame, and without a bound a few large states multiplied by every joiner (and by
 * joiners that never read) make a frame of tens of megabytes.
 */
export class PresenceBudget {
  private readonly bytes = new Map<number, number>();
  private total = 0;
  /** Sizes of the entries being applied right now, recorded once the awareness reports them changed. */
  private incoming: Map<number, number> | null = null;

  constructor(private readonly max: number) {}

  /** Whether applying `entries` keeps the room within the budget (shrinking is always allowed). */
  fits(entries: readonly AwarenessEntry[]): boolean {
    let next = this.total;
    for (const entry of entries) next += entry.bytes - (this.bytes.get(entry.clientID) ?? 0);
    return next <= this.max || next <= this.total;
  }

  /** Runs `apply` with `entries` staged, so `changed` can record the sizes of those that took effect. */
  applying(entries: readonly AwarenessEntry[], apply: () => void): void {
    this.incoming = new Map(entries.map((e) => [e.clientID, e.bytes]));
    try {
      apply();
    } finally {
      this.incoming = null;
    }
  }

  /** A client's state was added or updated (by the entries being applied, if any). */
  changed(clientID: number): void {
    const size = this.incoming?.get(clientID);
    if (size !== undefined) this.set(clientID, size);
  }

  removed(clientID: number): void {
    this.set(clientID, 0);
  }

  private set(clientID: number, size: number): void {
    this.total += size - (this.bytes.get(clientID) ?? 0);
    if (size > 0) this.bytes.set(clientID, size);
    else this.bytes.delete(clientID);
  }
}
