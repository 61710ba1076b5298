import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import type { Store, StoredRoom } from '../../src/storage/store.js';

/**
 * The faults a disk or database produces, injected into a real store: slow or failing loads and
 * appends, commits held until released, readiness that fails. Only the faulted methods are its own;
 * every other call goes to the wrapped store unchanged (see ControllableStore below), so the wrapper
 * never has to follow the Store interface method by method.
 */
class StoreFaults {
  appendDelayMs = 0;
  loadDelayMs = 0;
  /** Fail this many upcoming appends. */
  failAppends = 0;
  /** Fail this many upcoming loads. */
  failLoads = 0;
  appendCalls = 0;
  /** Make ping() (readiness) fail. */
  unreachable = false;
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  constructor(readonly inner: Store = new MemoryStore()) {
    return new Proxy(this, {
      get: (target, prop, receiver) => {
        if (prop in target) return Reflect.get(target, prop, receiver) as unknown;
        const value = Reflect.get(target.inner, prop) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target.inner) : value;
      },
    });
  }

  /** Appends wait until release() is called. */
  hold(): void {
    this.gate ??= new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
    this.openGate = null;
  }

  async loadRoom(room: string): Promise<StoredRoom | null> {
    if (this.loadDelayMs) await sleep(this.loadDelayMs);
    if (this.failLoads > 0) {
      this.failLoads--;
      throw new Error('injected load failure');
    }
    return this.inner.loadRoom(room);
  }

  async appendUpdate(room: string, update: Uint8Array): Promise<number> {
    this.appendCalls++;
    const copy = update.slice();
    if (this.gate) await this.gate;
    if (this.appendDelayMs) await sleep(this.appendDelayMs);
    if (this.failAppends > 0) {
      this.failAppends--;
      throw new Error('injected commit failure');
    }
    return this.inner.appendUpdate(room, copy);
  }

  async appendInitial(room: string, update: Uint8Array): Promise<number | null> {
    if (this.gate) await this.gate;
    return this.inner.appendInitial(room, update.slice());
  }

  ping(): Promise<void> {
    if (this.unreachable) return Promise.reject(new Error('injected: store unreachable'));
    return this.inner.ping();
  }

  close(): Promise<void> {
    this.release();
    return this.inner.close();
  }
}

/** A real store (memory by default) with StoreFaults in front of it. */
export type ControllableStore = StoreFaults & Store;
export const ControllableStore = StoreFaults as unknown as new (inner?: Store) => ControllableStore;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
