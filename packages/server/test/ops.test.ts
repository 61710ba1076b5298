import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../src/server.js';
import { ControllableStore } from './support/controllable-store.js';
import { eventually } from './support/eventually.js';
import { startTestServer, tempDir } from './support/server.js';
import { connectPeer } from './support/test-peer.js';

/**
 * Parses Prometheus text exposition strictly enough to catch malformed output. NaN in any case:
 * prom-client writes an empty lag histogram's mean as `Nan`, and Prometheus reads values with Go's
 * ParseFloat, which ignores case.
 */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|[Nn][Aa][Nn]|\+Inf|-Inf))$/.exec(
        line,
      );
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    samples.set(match[1]!, /^nan$/i.test(match[2]!) ? NaN : Number(match[2]));
  }
  return samples;
}

describe('operations endpoints', () => {
  let server: TandemServer;

  it('/metrics reports how far rooms batch, sampled from the load while rooms are loaded', async () => {
    const scale = async () =>
      parsePrometheus(await (await fetch(`${server.httpUrl}/metrics`)).text()).get('tandem_flush_window_scale');
    server = await startTestServer({});
    const idle = await connectPeer(`${server.syncUrl}/quiet`);
    await new Promise((r) => setTimeout(r, 600));
    expect(await scale()).toBe(0); // an idle process has headroom: nobody waits
    idle.terminate();
    await server.drain();
    server = await startTestServer({ batchAboveDeliveries: 0 });
    const peer = await connectPeer(`${server.syncUrl}/busy`);
    await eventually(async () => expect(await scale()).toBe(1));
    peer.terminate();
    await server.drain();
    // Loaded past a threshold of one delivery a second, then empty: the gauge does not keep the last load.
    server = await startTestServer({ batchAboveDeliveries: 1 });
    const writer = await connectPeer(`${server.syncUrl}/busy`);
    await eventually(async () => {
      writer.doc.getText('t').insert(0, 'x');
      expect(await scale()).toBe(1);
    });
    writer.terminate();
    await eventually(() => expect(server.registry.size).toBe(0));
    expect(await scale()).toBe(0);
  });

  it('/metrics parses as Prometheus text and counts what happened', async () => {
    server = await startTestServer({}, { processMetrics: true });
    const a = await connectPeer(`${server.syncUrl}/m`);
    const b = await connectPeer(`${server.syncUrl}/m`);
    a.doc.getText('t').insert(0, 'counted');
    await eventually(() => expect(a.acked).toBe(a.sent));
    await eventually(() => expect(b.text).toBe('counted'));
    b.sendRaw('text frame');
    await b.closed;
    const res = await fetch(`${server.httpUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const m = parsePrometheus(await res.text());
    await eventually(async () => {
      const again = parsePrometheus(await (await fetch(`${server.httpUrl}/metrics`)).text());
      expect(again.get('tandem_connections')).toBe(1);
    });
    expect(m.get('tandem_rooms_loaded')).toBe(1);
    // Socket edits alone never materialise a document; a REST read does.
    expect(m.get('tandem_rooms_with_document')).toBe(0);
    expect((await fetch(`${server.httpUrl}/v1/rooms/m/content`)).status).toBe(200);
    const after = parsePrometheus(await (await fetch(`${server.httpUrl}/metrics`)).text());
    expect(after.get('tandem_rooms_with_document')).toBe(1);
    expect(m.get('tandem_messages_in_total{type="sync-update"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('tandem_bytes_in_total')).toBeGreaterThan(0);
    expect(m.get('tandem_frames_out_total')).toBeGreaterThan(0);
    expect(m.get('tandem_refusals_total{reason="text_frame"}')).toBe(1);
    expect(m.get('tandem_ack_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(m.get('tandem_store_commit_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(m.get('tandem_process_cpu_seconds_total')).toBeGreaterThan(0);
    a.terminate();
  });

  it('/readyz follows the store and the drain; /healthz only the process', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    expect((await fetch(`${server.httpUrl}/readyz`)).status).toBe(200);
    store.unreachable = true;
    const down = await fetch(`${server.httpUrl}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'store_unreachable' });
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
  });

  it('/readyz says the store cannot commit while commits fail (a full disk), and recovers', async () => {
    const dir = tempDir();
    try {
      server = await startTestServer({ store: 'sqlite', dataDir: dir.dir });
      const peer = await connectPeer(`${server.syncUrl}/full`);
      await eventually(() => expect(peer.synced).toBe(true));
      const admin = new DatabaseSync(join(dir.dir, 'tandem.db'));
      for (const table of ['update_log', 'health_probe']) {
        admin.exec(`CREATE TRIGGER full_${table} BEFORE INSERT ON ${table}
                    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
      }
      const ackedBefore = peer.acked;
      peer.doc.getText('t').insert(0, 'waits for room on disk');
      await eventually(async () => {
        const res = await fetch(`${server.httpUrl}/readyz`);
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ status: 'store_cannot_commit' });
      });
      expect(peer.acked).toBe(ackedBefore);
      for (const table of ['update_log', 'health_probe']) admin.exec(`DROP TRIGGER full_${table}`);
      admin.close();
      await eventually(async () => expect((await fetch(`${server.httpUrl}/readyz`)).status).toBe(200));
      await eventually(() => expect(peer.acked).toBe(peer.sent));
      peer.terminate();
    } finally {
      await server.drain();
      dir.cleanup();
    }
  });

  it('serves the OpenAPI 3.1 document', async () => {
    server = await startTestServer();
    const doc = (await (await fetch(`${server.httpUrl}/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/rooms/{room}/content',
        '/v1/rooms/{room}/text/{field}/ops',
        '/v1/rooms/{room}/events/stream',
      ]),
    );
    expect(doc.paths['/healthz']).toBeUndefined();
  });
});
