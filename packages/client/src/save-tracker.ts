/**
 * `saved`: every local change is durable on the server. `saving`: changes are on their way over a live
 * connection; `unsaved`: changes wait for a connection. `unknown`: nothing has reached the server yet
 * and nothing is waiting (before the first sync: not "saved", since nothing was acknowledged).
 * `read-only`: this client may not write the room; local changes are not sent (see the provider).
 */
export type SaveState = 'unknown' | 'saved' | 'saving' | 'unsaved' | 'read-only';

/**
 * Which local changes the server has acknowledged as durable. The server acks by message number: the
 * client numbers its sync-step2 / sync-update messages 1, 2, 3… per connection, and `ack(n)` covers all
 * of them up to n. Local changes are counted, and each message records how many of them it carries;
 * an ack retires those. A sync update carries the one change it was made for; the sync step 2 that
 * answers the server's state vector carries every change not in flight on this connection (it is the
 * diff of everything the server lacks). A dropped connection loses its unacked messages, never the
 * changes: they stay pending until the next connection's step 2 is acked.
 */
export class SaveTracker {
  /** Local changes no ack has covered yet. */
  private pending = 0;
  /** Sources of local changes not loaded yet (a local database still opening): nothing is saved meanwhile. */
  private holds = 0;
  /** Messages of this connection awaiting an ack: their number and how many changes each carries. */
  private inFlight: { seq: number; changes: number }[] = [];
  private inFlightChanges = 0;
  private lastSeq = 0;
  lastSavedAt: number | null = null;

  /** Local changes waiting for a durable ack (a source still loading counts as one). */
  get pendingUpdates(): number {
    return this.pending + this.holds;
  }

  state(connected: boolean, everSynced: boolean): SaveState {
    if (this.pendingUpdates === 0) return everSynced ? 'saved' : 'unknown';
    return connected ? 'saving' : 'unsaved';
  }

  /**
   * The server will never take these changes (this client turned out to be read-only): they are no
   * longer counted as waiting. Returns how many there were.
   */
  discard(): number {
    const dropped = this.pending;
    this.pending = 0;
    this.inFlight = this.inFlight.map(({ seq }) => ({ seq, changes: 0 }));
    this.inFlightChanges = 0;
    return dropped;
  }

  /** Local changes may be on their way from a source that is still loading. */
  hold(): void {
    this.holds++;
  }

  /**
   * That source has loaded. Whatever it held is in the document now, whether or not its changes were
   * seen one by one, so the hold becomes a pending change of its own: the next sync step 2 carries it,
   * and only that step's ack makes the state `saved`.
   */
  release(): void {
    if (this.holds === 0) return;
    this.holds--;
    this.pending++;
  }

  /** The user changed the document. */
  changed(): void {
    this.pending++;
  }

  /** A sync update for the latest change goes out; returns its message number. */
  sentUpdate(): number {
    return this.send(1);
  }

  /** A sync step 2 (everything the server lacks) goes out; returns its message number. */
  sentState(): number {
    return this.send(this.pending - this.inFlightChanges);
  }

  /** The server made messages up to `seq` durable. Returns whether anything was retired. */
  acked(seq: number): boolean {
    let retired = false;
    while (this.inFlight.length > 0 && this.inFlight[0]!.seq <= seq) {
      const { changes } = this.inFlight.shift()!;
      this.pending -= changes;
      this.inFlightChanges -= changes;
      retired = true;
    }
    if (retired && this.pendingUpdates === 0) this.lastSavedAt = Date.now();
    return retired;
  }

  /** The connection ended: its unacked messages will never be acked. */
  disconnected(): void {
    this.inFlight = [];
    this.inFlightChanges = 0;
    this.lastSeq = 0;
  }

  private send(changes: number): number {
    const seq = ++this.lastSeq;
    this.inFlight.push({ seq, changes });
    this.inFlightChanges += changes;
    return seq;
  }
}
