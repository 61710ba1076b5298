import { DatabaseSync, type SQLInputValue } from 'node:sqlite';

/**
 * A prepared statement with its parameter and row types declared where it is written: `node:sqlite`
 * types every row as a record of any SQL value, so the store states each row's shape once, here.
 */
export interface Statement<P extends SQLInputValue[] = [], R = unknown> {
  run(...params: P): { changes: number };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/**
 * The built-in `node:sqlite` driver (Node 22.13+), with the few conveniences the store needs. Built in
 * rather than a native addon: better-sqlite3 aborts Node 24 when the garbage collector finalises its
 * statements (docs/decisions/0004-sqlite-driver.md), and nothing has to be compiled at install.
 */
export class SqliteDatabase {
  private readonly db: DatabaseSync;
  private closed = false;

  constructor(file: string, options: { readOnly?: boolean } = {}) {
    this.db = new DatabaseSync(file, { readOnly: options.readOnly ?? false });
  }

  get open(): boolean {
    return !this.closed;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  prepare<P extends SQLInputValue[] = [], R = unknown>(sql: string): Statement<P, R> {
    return this.db.prepare(sql) as unknown as Statement<P, R>;
  }

  /** A pragma's single value (`user_version`, `journal_mode`). */
  pragmaValue(name: string): unknown {
    const row = this.db.prepare(`PRAGMA ${name}`).get();
    return row ? Object.values(row)[0] : undefined;
  }

  /** A deterministic SQL function implemented in JavaScript. */
  function(name: string, fn: (...args: never[]) => SQLInputValue): void {
    this.db.function(name, { deterministic: true }, fn as (...args: unknown[]) => SQLInputValue);
  }

  /**
   * Runs `fn` in one transaction: committed when it returns, rolled back when it (or the commit)
   * throws. Not reentrant; the store never nests transactions.
   */
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    return (...args: A): T => {
      this.db.exec('BEGIN');
      try {
        const result = fn(...args);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        // A failed COMMIT (disk full, I/O error) can leave the transaction open; a failed statement
        // inside it always does. Either way nothing of it may stay applied.
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // SQLite already rolled it back itself.
        }
        throw err;
      }
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
