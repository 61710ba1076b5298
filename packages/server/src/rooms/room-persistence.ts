import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { DocumentAppender } from '../storage/store.js';
import type { CompactionScheduler } from './compaction-scheduler.js';
import { mergeUpdates } from '../yjs/merge-updates.js';

export interface RoomPersistenceOptions {
  /**
   * Updates in the log tail before it is folded into a snapshot; a room whose snapshot is more than four
   * times the tail's bytes waits until it is not (see maybeCompact).
   */
  compactAfterUpdates: number;
  /** Spreads compactions that fall due together over later turns (one scheduler per process). */
  compactions: CompactionScheduler;
  /** First retry delay after a failed commit; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Told after each commit: `update` is durable as the room's `seq`, and so is everything before it. */
  onStored?: (room: string, seq: number, update: Uint8Array) => void;
  /**
   * The highest seq up to which the room's state holds every stored update, when other processes
   * write to the same store; null when this process is its only writer (then it is the last commit).
   */
  appliedThrough?: (room: string) => number | null;
}

/** The room a persistence writes for, as it is asked for a snapshot. */
export interface SnapshotSource {
  /** The room's whole state, to store as its snapshot: it must hold every committed update. */
  snapshot(): Uint8Array;
  /** Told the byte size of each snapshot written (the room's real size at that moment). */
  compacted?(bytes: number): void;
}

interface OpenBatch {
  updates: Uint8Array[];
  done: Promise<void>;
}

/**
 * Writes one room's updates to the store in order and tells the room when each is durable.
 * Writes form a chain, so "durable" for a later write implies every earlier one is durable too —
 * which is what lets the room ack a duplicate update only after the original commits.
 * A failed commit is retried with backoff until it succeeds or the room gives up on it (abandon()).
 */
export class RoomPersistence {
  private chain: Promise<void> = Promise.resolve();
  /** Updates waiting behind the write in flight, to be merged into one append. */
  private open: OpenBatch | null = null;
  private pending = 0;
  private tailLength = 0;
  private tailBytes = 0;
  private snapshotBytes = 0;
  private lastSeq: number;
  /** The seq the latest snapshot written from here covers; a compaction that cannot pass it is skipped. */
  private compactedSeq = 0;
  private abandoned = false;
  /** A compaction was asked of the scheduler and has not started yet. */
  private compactionRequested = false;
  private wakeRetry: (() => void) | null = null;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  /** Commits that failed and are being retried; exported to metrics and logs. */
  failedAttempts = 0;

  constructor(
    private readonly room: string,
    private readonly source: SnapshotSource,
    private readonly store: DocumentAppender,
    private readonly log: Logger,
    private readonly options: RoomPersistenceOptions,
    /** Where the stored room stands: its last sequence number, and its log tail and snapshot sizes. */
    loaded: { lastSeq: number; tailLength: number; tailBytes: number; snapshotBytes: number },
    private readonly metrics: Metrics,
  ) {
    this.lastSeq = loaded.lastSeq;
    this.tailLength = loaded.tailLength;
    this.tailBytes = loaded.tailBytes;
    this.snapshotBytes = loaded.snapshotBytes;
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  }

  /** The highest seq this room's writes have reached (the loaded one, then each commit's). */
  get committedSeq(): number {
    return this.lastSeq;
  }

  /** Writes still queued or being retried. */
  get pendingWrites(): number {
    return this.pending;
  }

  /**
   * Queues `update` (or nothing, to wait for everything queued before). Resolves once it and every
   * earlier write are committed; rejects only if the room abandoned its writes.
   *
   * While a commit is in flight, later updates gather in one open batch that is merged into a single
   * append when its turn comes: a busy room makes one write per commit, not one per event-loop turn.
   */
  persist(update: Uint8Array | null): Promise<void> {
    if (this.open) {
      if (update) {
        this.open.updates.push(update);
        this.pending++;
      }
      return this.open.done;
    }
    if (!update) return this.chain;
    this.pending++;
    const batch: OpenBatch = { updates: [update], done: Promise.resolve() };
    this.open = batch;
    batch.done = this.chain.then(async () => {
      if (this.open === batch) this.open = null; // started: later updates form the next batch
      try {
        const { updates } = batch;
        await this.appendWithRetry(mergeUpdates(updates));
      } finally {
        this.pending -= batch.updates.length;
      }
    });
    this.chain = batch.done.catch(() => undefined);
    return batch.done;
  }

  /** True once abandon() was called: queued and later writes reject. */
  get isAbandoned(): boolean {
    return this.abandoned;
  }

  /** Resolves when every queued write has settled. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Folds the log tail into a snapshot now if there is any tail (used before unloading). */
  compactIfTail(): Promise<void> {
    if (this.tailLength === 0) return this.chain;
    return this.enqueueCompaction();
  }

  /** Stops retrying: queued writes reject. Their senders were never acked, so they resend. */
  abandon(): void {
    this.abandoned = true;
    this.wakeRetry?.();
  }

  private async appendWithRetry(update: Uint8Array): Promise<void> {
    let delay = this.retryDelayMs;
    for (;;) {
      if (this.abandoned) throw new Error(`writes to room ${this.room} were abandoned`);
      const timer = this.metrics.storeCommitSeconds.startTimer();
      try {
        this.lastSeq = await this.store.appendUpdate(this.room, update);
        timer();
        this.tailLength++;
        this.tailBytes += update.length;
        this.options.onStored?.(this.room, this.lastSeq, update);
        this.maybeCompact();
        return;
      } catch (err) {
        this.failedAttempts++;
        this.metrics.storeCommitFailures.inc();
        this.log.error({ err, room: this.room, retryInMs: delay }, 'store commit failed; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = null;
        delay = Math.min(delay * 2, this.maxRetryDelayMs);
      }
    }
  }

  /**
   * A compaction merges the room's whole state, one stall of the event loop in proportion to its size
   * (13 ms for a 180 KB typing history): at a fixed count of updates a growing document would pay ever
   * more per update, and a 1000 ops/s room stalled twice a second. Waiting until the tail's bytes are a
   * quarter of the snapshot's keeps the cost per update constant, and a load never merges more than
   * 1.25 times the state.
   */
  private maybeCompact(): void {
    if (this.tailLength < this.options.compactAfterUpdates) return;
    if (this.tailBytes * 4 < this.snapshotBytes) return;
    this.requestCompaction();
  }

  private requestCompaction(): void {
    if (this.compactionRequested) return;
    this.compactionRequested = true;
    this.options.compactions.request(() => {
      this.compactionRequested = false;
      void this.enqueueCompaction();
    });
  }

  /**
   * The compaction rule: a snapshot stored as covering seq N must contain every update with seq <= N,
   * because the store deletes those rows. Alone on the store, the room's state holds every commit up
   * to its own last one. With other instances it does not: they commit lower seqs that may still be on
   * the bus (or lost on it) when this instance commits a higher one, so the snapshot covers only what
   * the state is known to hold without a gap. Newer updates in the state are harmless (idempotent).
   */
  private enqueueCompaction(): Promise<void> {
    const step = this.chain.then(async () => {
      if (this.tailLength === 0 || this.abandoned) return;
      const uptoSeq = this.options.appliedThrough?.(this.room) ?? this.lastSeq;
      if (uptoSeq <= this.compactedSeq) return;
      const tail = this.tailLength;
      const tailBytes = this.tailBytes;
      // With other instances the snapshot may stop short of our last commit: the rows above uptoSeq
      // stay in the store's tail and count towards the next compaction (all of them: theirs too).
      const stillTail = Math.max(0, this.lastSeq - uptoSeq);
      try {
        // Read in the same turn as uptoSeq: nothing can be applied in between.
        const state = this.source.snapshot();
        this.source.compacted?.(state.length);
        await this.store.compact(this.room, uptoSeq, state);
        this.compactedSeq = uptoSeq;
        // What was appended meanwhile stays counted; bytes of the rows left are estimated pro rata.
        this.tailLength += stillTail - tail;
        this.tailBytes -= tail > 0 ? tailBytes * Math.max(0, 1 - stillTail / tail) : tailBytes;
        this.snapshotBytes = state.length;
      } catch (err) {
        // Compaction is an optimisation; the log is still complete, so keep serving.
        this.log.warn({ err, room: this.room }, 'compaction failed');
      }
    });
    this.chain = step;
    return step;
  }
}
