import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ConfigInput } from '../../src/ops/config.js';
import { startServer, type ServerDeps, type TandemServer } from '../../src/server.js';
import { afterThisTest } from './cleanup.js';

/**
 * A fresh temp directory, removed when the test finishes (or earlier by the returned cleanup, which
 * may run twice). Made in a beforeAll, the caller removes it itself.
 */
export function tempDir(prefix = 'tandem-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  afterThisTest(cleanup);
  return { dir, cleanup };
}

/**
 * A real server on a free port. Defaults to the in-memory store and short timers for tests. Started in
 * a test (or its beforeEach) it drains when the test finishes; drain() is idempotent, so a test may
 * drain it earlier itself.
 */
export async function startTestServer(config: ConfigInput = {}, deps: ServerDeps = {}): Promise<TandemServer> {
  const server = await startServer(
    parseConfig({ port: 0, store: 'memory', unloadDelayMs: 50, heartbeatMs: 60_000, ...config }),
    deps,
  );
  afterThisTest(() => server.drain());
  return server;
}
