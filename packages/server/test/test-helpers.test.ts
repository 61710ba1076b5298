import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../src/server.js';
import { spawnServer, type ChildServer } from './support/child-server.js';
import { startTestServer, tempDir } from './support/server.js';
import { SseClient } from './support/sse.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

// The helpers that start something stop it when the test that started it finishes (onTestFinished),
// which is what lets test files go without `let x; afterEach(...)`. These run in order.
describe('test helpers clean up after the test that used them', () => {
  let server: TandemServer;
  let peer: TestPeer;
  let stream: SseClient;
  let dir: string;
  let child: ChildServer;

  it('a test starts a server, a peer, an event stream and a child process in a temp dir', async () => {
    dir = tempDir('tandem-helpers-').dir;
    child = await spawnServer(['--data-dir', dir]);
    server = await startTestServer();
    peer = await connectPeer(`${server.syncUrl}/helpers`);
    stream = new SseClient(`${server.httpUrl}/v1/sync/helpers/stream?session=${'h'.repeat(32)}`);
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
  });

  it('once it finished, its server is drained, its peer and stream closed, its child killed, its dir gone', async () => {
    await expect(fetch(`${server.httpUrl}/healthz`)).rejects.toThrow();
    await peer.closed;
    await stream.done;
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(dir)).toBe(false);
  });
});
