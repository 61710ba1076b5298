import { onTestFinished } from 'vitest';

/**
 * Runs `cleanup` when the current test finishes, pass or fail (vitest's onTestFinished), so a helper
 * that starts something (a server, a peer, a provider, a stream) stops it itself and test files need
 * no `let x; afterEach(...)`. Outside a test or its beforeEach (in a beforeAll) there is no test to
 * finish: returns false and the caller stops it (afterAll).
 */
export function afterThisTest(cleanup: () => unknown): boolean {
  try {
    onTestFinished(async () => {
      await cleanup();
    });
    return true;
  } catch (err) {
    if (err instanceof Error && err.message.includes('can only be called inside a test')) return false;
    throw err;
  }
}
