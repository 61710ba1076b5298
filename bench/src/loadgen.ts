// One load-generator process: opens the clients of a scenario against one server, drives edits or
// presence at a fixed rate, and measures what the receivers see. Prints JSON lines on stdout:
// {"phase":"ready"}, {"phase":"measure-start"}, {"phase":"measure-end"}, then {"result": …}.
import * as awarenessProtocol from 'y-protocols/awareness';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { openHttpSession, type HttpSession, type HttpTransport } from './http-session.js';
import {
  awarenessFrame,
  hocuspocusAuth,
  parse,
  roomUrl,
  speaksHocuspocus,
  syncStep1,
  syncStep2,
  syncUpdate,
  type Target,
} from './wire.js';

export interface LoadConfig {
  target: Target;
  /** One server URL per instance; client i connects to bases[i % bases.length]. */
  bases: string[];
  rooms: number;
  clientsPerRoom: number;
  /** Messages per second per client (0 = idle connections). */
  rate: number;
  mode: 'edit' | 'awareness' | 'idle';
  /** How clients connect (Tandem only for the HTTP fallback's two ways); WebSocket by default. */
  transport?: 'websocket' | HttpTransport;
  /** Each client publishes a presence state once connected, as an app with cursors does. */
  presence?: boolean;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  clients: number;
  connected: number;
  sent: number;
  expected: number;
  delivered: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Deliveries whose sender was on another instance (several bases only). */
  crossInstanceLatencyMs: { p50: number; p95: number; p99: number; max: number } | null;
}

const MARK = 0x7e; // '~' around "<client>.<microseconds>"
const now = (): number => performance.now();

class Latencies {
  private values = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = v;
  }
  percentiles(): LoadResult['latencyMs'] {
    const sorted = this.values.slice(0, this.length).sort();
    const at = (p: number) => (this.length === 0 ? 0 : sorted[Math.min(this.length - 1, Math.floor(p * this.length))]!);
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
  }
}

/** Finds "~<client>.<micros>~" markers in raw update bytes without decoding the update. */
function scanMarkers(bytes: Uint8Array, onMarker: (client: number, sentMicros: number) => void): void {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== MARK) continue;
    let client = 0;
    let j = i + 1;
    while (j < bytes.length && bytes[j]! >= 48 && bytes[j]! <= 57) client = client * 10 + bytes[j++]! - 48;
    if (j === i + 1 || bytes[j] !== 0x2e) continue;
    let micros = 0;
    const start = ++j;
    while (j < bytes.length && bytes[j]! >= 48 && bytes[j]! <= 57) micros = micros * 10 + bytes[j++]! - 48;
    if (j === start || bytes[j] !== MARK) continue;
    onMarker(client, micros);
    i = j - 1; // the closing '~' may open the next marker
  }
}

async function run(config: LoadConfig): Promise<LoadResult> {
  const emit = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const latencies = new Latencies();
  const crossLatencies = new Latencies();
  const instances = config.bases.length;
  let measuring = false;
  let windowStart = Infinity;
  let sent = 0;
  let delivered = 0;
  let connected = 0;
  const sockets: WebSocket[] = [];
  const httpSessions: HttpSession[] = [];
  const senders: (() => void)[] = [];
  const total = config.rooms * config.clientsPerRoom;

  const ready = Array.from({ length: total }, (_, index) => {
    const roomIndex = Math.floor(index / config.clientsPerRoom);
    const room = `bench-${roomIndex}`;
    const doc = new Y.Doc();
    const text = doc.getText('t');
    const awareness = new awarenessProtocol.Awareness(doc);
    const { target } = config;
    const presenceState = { user: { name: `client ${index}`, color: '#3366ff' }, cursor: null };
    if (config.transport && config.transport !== 'websocket') {
      awareness.setLocalState(presenceState);
      const opening = [syncStep1(target, room, Y.encodeStateVector(doc))];
      if (config.presence) {
        opening.push(awarenessFrame(target, room, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID])));
      }
      const session = openHttpSession(config.bases[index % instances]!, room, config.transport, opening);
      httpSessions.push(session);
      return session.synced.then((ok) => void (ok && connected++));
    }
    return new Promise<void>((resolve) => {
      const instance = index % instances;
      const ws = new WebSocket(roomUrl(target, config.bases[instance]!, room), { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      sockets.push(ws);
      let synced = false;
      const markSynced = () => {
        if (synced) return;
        synced = true;
        connected++;
        resolve();
      };
      ws.on('open', () => {
        if (speaksHocuspocus(target)) ws.send(hocuspocusAuth(room));
        ws.send(syncStep1(target, room, Y.encodeStateVector(doc)));
        if (config.presence) awareness.setLocalState(presenceState);
      });
      ws.on('error', () => resolve());
      ws.on('close', () => resolve());
      ws.on('message', (data: Buffer) => {
        const msg = parse(target, data);
        if (msg.kind === 'step1') ws.send(syncStep2(target, room, Y.encodeStateAsUpdate(doc, msg.payload)));
        else if (msg.kind === 'step2') markSynced();
        if (!measuring || (msg.kind !== 'update' && msg.kind !== 'awareness')) return;
        const t = now();
        scanMarkers(msg.payload, (client, micros) => {
          if (client === index || micros / 1000 < windowStart) return;
          delivered++;
          latencies.push(t - micros / 1000);
          if (instances > 1 && client % instances !== instance) crossLatencies.push(t - micros / 1000);
        });
      });
      // Senders only ever append to their own items, so they never need the others' updates.
      doc.on('update', (update: Uint8Array) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(syncUpdate(target, room, update));
      });
      awareness.on('update', ({ updated }: { updated: number[] }) => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(awarenessFrame(target, room, awarenessProtocol.encodeAwarenessUpdate(awareness, updated)));
        }
      });
      senders.push(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const marker = `~${index}.${Math.round(now() * 1000)}~`;
        if (config.mode === 'edit') text.insert(text.length, marker);
        else awareness.setLocalState({ cursor: marker });
        sent++;
      });
    });
  });
  // Stock servers need the handshake to finish; give up on stragglers after a while.
  await Promise.race([Promise.all(ready), new Promise((r) => setTimeout(r, 30_000))]);
  emit({ phase: 'ready', connected });

  const timers: NodeJS.Timeout[] = [];
  if (config.mode !== 'idle' && config.rate > 0) {
    const interval = 1000 / config.rate;
    senders.forEach((send, i) => {
      // Spread the clients over the interval so load is even, not in bursts.
      const offset = (i / senders.length) * interval;
      timers.push(setTimeout(() => timers.push(setInterval(send, interval)), offset));
    });
  }
  await new Promise((r) => setTimeout(r, config.warmupMs));
  const sentBefore = sent;
  windowStart = now();
  measuring = true;
  emit({ phase: 'measure-start' });
  await new Promise((r) => setTimeout(r, config.durationMs));
  emit({ phase: 'measure-end' });
  const sentInWindow = sent - sentBefore;
  for (const t of timers) clearTimeout(t);
  // Let in-flight deliveries of the window arrive, then stop counting.
  await new Promise((r) => setTimeout(r, 1_000));
  measuring = false;
  for (const ws of sockets) ws.terminate();
  for (const session of httpSessions) session.close();
  return {
    clients: total,
    connected,
    sent: sentInWindow,
    expected: sentInWindow * (config.clientsPerRoom - 1),
    delivered,
    latencyMs: latencies.percentiles(),
    crossInstanceLatencyMs: instances > 1 ? crossLatencies.percentiles() : null,
  };
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
run(config).then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ result })}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
