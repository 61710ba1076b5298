import type pg from 'pg';
import { appendRun, type PendingAppend } from './postgres-appends.js';

type Client = pg.PoolClient;

/** A room row a write updates; `create` when the write would create it if missing (appends, events). */
export interface RoomLock {
  room: string;
  create: boolean;
}

/** A write waiting for the next group commit; `run` executes its statements inside the transaction. */
interface QueuedWrite {
  run: (client: Client) => Promise<unknown>;
  /** Run inside a savepoint, so its own failure (a constraint) rejects it alone. */
  isolated: boolean;
  /** The room row it writes, locked before any write of the batch runs (see lockRooms). */
  lock: RoomLock | null;
  /** An update append: consecutive ones run as one statement pair (see appendRun), not `run`. */
  append?: PendingAppend;
  resolve: (result: never) => void;
  reject: (err: unknown) => void;
}

/**
 * PostgreSQL's group commit: writes queued in one turn of the event loop (or while the previous commit
 * is in flight) run in one transaction, in call order. A write that may fail on its own (a constraint)
 * runs inside a savepoint; every room row the batch writes is locked first, in name order.
 */
export class PostgresGroupCommit {
  private queue: QueuedWrite[] = [];
  private committing: Promise<void> | null = null;
  private flushScheduled = false;
  private closed = false;
  /** Why the latest commit failed; cleared by the next one that succeeds. */
  failure: unknown = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly ready: Promise<void>,
  ) {}

  /** Queues a write for the next group commit. */
  enqueue<T>(
    run: (client: Client) => Promise<T>,
    {
      isolated = false,
      lock = null,
      append,
    }: { isolated?: boolean; lock?: RoomLock | null; append?: QueuedWrite['append'] } = {},
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, isolated, lock, append, resolve: resolve as (result: never) => void, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.committing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.committing = this.commit().finally(() => {
        this.committing = null;
        if (this.queue.length > 0) this.scheduleFlush();
      });
    });
  }

  private async commit(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let client: Client;
    try {
      await this.ready;
      client = await this.pool.connect();
    } catch (err) {
      this.failure = err;
      for (const w of batch) w.reject(err);
      return;
    }
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      await client.query('BEGIN');
      await this.lockRooms(client, batch);
      for (let i = 0; i < batch.length; i++) {
        const w = batch[i]!;
        if (w.append) {
          let end = i + 1;
          while (end < batch.length && batch[end]!.append) end++;
          for (const seq of await appendRun(
            client,
            batch.slice(i, end).map((a) => a.append!),
          ))
            results.push({ ok: true, value: seq });
          i = end - 1;
          continue;
        }
        if (!w.isolated) {
          results.push({ ok: true, value: await w.run(client) });
          continue;
        }
        await client.query('SAVEPOINT write');
        try {
          results.push({ ok: true, value: await w.run(client) });
          await client.query('RELEASE SAVEPOINT write');
        } catch (err) {
          await client.query('ROLLBACK TO SAVEPOINT write');
          results.push({ ok: false, value: err });
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      // Nothing of the batch committed: every write of it fails, and its callers retry or report.
      this.failure = err;
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      for (const w of batch) w.reject(err);
      return;
    }
    client.release();
    this.failure = null;
    batch.forEach((w, i) => {
      const r = results[i]!;
      if (r.ok) w.resolve(r.value as never);
      else w.reject(r.value);
    });
  }

  /**
   * Takes the row locks of every room the batch writes, in one order (by name) that every instance
   * uses. Taken as the writes come, two instances' batches touching the same rooms in different
   * orders deadlock, and PostgreSQL breaks a deadlock only after deadlock_timeout (1 s) by failing one
   * whole batch. Rows a write would create anyway are created here first, so they are locked too.
   */
  private async lockRooms(client: Client, batch: QueuedWrite[]): Promise<void> {
    const create = new Set<string>();
    const all = new Set<string>();
    for (const w of batch) {
      if (!w.lock) continue;
      all.add(w.lock.room);
      if (w.lock.create) create.add(w.lock.room);
    }
    if (create.size > 0) {
      await client.query(
        `INSERT INTO rooms (name, created_at, updated_at)
         SELECT name, $2, $2 FROM unnest($1::text[]) AS r(name) ORDER BY name COLLATE "C"
         ON CONFLICT (name) DO NOTHING`,
        [[...create], Date.now()],
      );
    }
    if (all.size > 0) {
      await client.query('SELECT 1 FROM rooms WHERE name = ANY($1::text[]) ORDER BY name COLLATE "C" FOR UPDATE', [
        [...all],
      ]);
    }
  }

  /** Refuses new writes and resolves once whatever is queued or committing has finished. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.committing || this.queue.length > 0 || this.flushScheduled) {
      if (this.committing) await this.committing;
      else await new Promise((r) => setImmediate(r));
    }
  }
}
