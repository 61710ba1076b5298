import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

/** Who holds a lock, as written in the lock file. */
interface Holder {
  pid: number;
  host: string;
  startedAt: string;
}

/** Paths this process holds, so a second store opened in the same process is refused too. */
const heldHere = new Set<string>();

export class LockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockedError';
  }
}

/**
 * An exclusive, advisory lock on a path for the life of this process: a lock file created with
 * O_EXCL that names its holder. A lock left behind by a process that is gone (kill -9, a crash) is
 * taken over; one held by a live process, here or on another host, is refused with who holds it.
 * Two stores on one database would hand out the same sequence numbers and lose acknowledged writes.
 */
export class FileLock {
  private released = false;

  private constructor(readonly path: string) {}

  static acquire(path: string, what: string): FileLock {
    const full = resolve(path);
    if (heldHere.has(full)) {
      throw new LockedError(`${what} is already open in this process (lock ${full})`);
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(full, 'wx', 0o644);
        const holder: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
        writeSync(fd, JSON.stringify(holder));
        closeSync(fd);
        heldHere.add(full);
        return new FileLock(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readHolder(full);
      if (holder === null && recentlyWritten(full)) {
        throw new LockedError(`${what} is being opened by another process right now (lock ${full})`);
      }
      if (holder && isAlive(holder)) {
        throw new LockedError(
          `${what} is in use by another Tandem process (pid ${holder.pid} on ${holder.host}, started ` +
            `${holder.startedAt}); stop it or use another --data-dir (lock ${full})`,
        );
      }
      // Stale: its holder is gone. Remove it and try once more (a racing starter may win; then we refuse).
      rmSync(full, { force: true });
    }
    throw new LockedError(`${what} is being opened by another process at the same time (lock ${full})`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.path);
    rmSync(this.path, { force: true });
  }
}

function readHolder(path: string): Holder | null {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null;
    return { pid: value.pid, host: value.host, startedAt: String(value.startedAt ?? 'unknown') };
  } catch {
    // Unreadable or half-written: a holder that crashed while writing it.
    return null;
  }
}

/** A lock file too young to be judged: its creator may still be writing it. */
function recentlyWritten(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 5_000;
  } catch {
    return false;
  }
}

/** Whether the holder may still be running. On another host we cannot tell, so it counts as alive. */
function isAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return false; // not in heldHere: a leftover from an earlier life of this pid
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
