import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Connection, STATUS_TRANSITIONS, type ConnectionHost, type ConnectionStatus } from './connection.js';
import { defaultReconnectOptions } from './reconnect-policy.js';
import type { WebSocketConstructor } from './websocket-like.js';

describe('connection status transitions', () => {
  it('docs/client.md draws exactly the transitions the connection makes', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/client.md', import.meta.url)), 'utf8');
    const diagram = doc.slice(doc.indexOf('stateDiagram-v2'), doc.indexOf('```', doc.indexOf('stateDiagram-v2')));
    const drawn = [...diagram.matchAll(/^\s*(\w+) --> (\w+)/gm)].map((m) => `${m[1]} -> ${m[2]}`).sort();
    const made = Object.entries(STATUS_TRANSITIONS)
      .flatMap(([from, to]) => to.map((t) => `${from} -> ${t}`))
      .sort();
    expect(drawn.length).toBeGreaterThan(10);
    expect(drawn).toEqual(made);
  });

  it('refuses a transition not in the table, keeps its status and reports the bug', () => {
    const statuses: ConnectionStatus[] = [];
    const errors: string[] = [];
    const host: ConnectionHost = {
      opened: () => undefined,
      received: () => undefined,
      ended: () => undefined,
      statusChanged: (s) => statuses.push(s),
      transportChanged: () => undefined,
      failed: () => undefined,
      error: (e) => errors.push(e.code),
      changed: () => undefined,
    };
    const connection = new Connection(
      {
        url: 'ws://127.0.0.1:9/v1/sync',
        room: 'r',
        WebSocketImpl: class {} as unknown as WebSocketConstructor,
        reconnect: defaultReconnectOptions,
        fallback: {
          enabled: false,
          afterFailures: 2,
          pollIntervalMs: 1,
          streamOpenTimeoutMs: 1,
          probeBaseMs: 1,
          probeMaxMs: 1,
        },
      },
      host,
    );
    connection.refuse();
    expect(connection.status).toBe('failed');
    // A server that answers a failed connection cannot make it live: failed -> live is no transition.
    connection.markJoined();
    expect(connection.status).toBe('failed');
    expect(statuses).toEqual(['failed']);
    expect(errors).toEqual(['invalid_transition']);
    connection.destroy();
  });
});
