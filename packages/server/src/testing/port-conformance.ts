import { afterEach, beforeEach, describe } from 'vitest';
import type { StoreLifecycle } from '../storage/store.js';

/** How a conformance suite gets what it tests: a fresh, empty one per test, and cleanup after it. */
export interface ConformanceFactory<T> {
  create(): Promise<T> | T;
  cleanup?(): void;
}

/**
 * Runs one port's contract (`documentLogContract`, `eventLogContract`, …) on an implementation of that
 * port alone: a fresh instance per test, closed after it. A whole Store runs them all through
 * `storeConformance`.
 */
export function portConformance<T extends StoreLifecycle>(
  name: string,
  factory: ConformanceFactory<T>,
  contract: (get: () => T) => void,
): void {
  describe(name, () => {
    let port: T;
    beforeEach(async () => {
      port = await factory.create();
    });
    afterEach(async () => {
      await port.close();
      factory.cleanup?.();
    });
    contract(() => port);
  });
}
