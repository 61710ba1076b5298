import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../src/server.js';
import { startTestServer } from './support/server.js';
import { SseClient } from './support/sse.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

// The helpers that start something stop it when the test that started it finishes (onTestFinished),
// which is what lets test files go without `let x; afterEach(...)`. These run in order.
describe('test helpers clean up after the test that used them', () => {
  let server: TandemServer;
  let peer: TestPeer;
  let stream: SseClient;

  it('a test starts a server, a peer and an event stream', async () => {
    server = await startTestServer();
    peer = await connectPeer(`${server.syncUrl}/helpers`);
    stream = new SseClient(`${server.httpUrl}/v1/sync/helpers/stream?session=${'h'.repeat(32)}`);
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
  });

  it('once it finished, its server is drained and its peer and stream are closed', async () => {
    await expect(fetch(`${server.httpUrl}/healthz`)).rejects.toThrow();
    await peer.closed;
    await stream.done;
  });
});
