import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadConfig, LoadResult } from './loadgen.js';
import { processTree } from './proc.js';
import type { Target } from './wire.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const TANDEM_BIN = here('../../packages/server/bin/tandem.mjs');
/** The checkout the `baseline` target runs (run.ts sets it from --baseline). */
export const baselineCheckout = { dir: '' };

export interface Scenario {
  name: string;
  rooms: number;
  clientsPerRoom: number;
  rate: number;
  mode: LoadConfig['mode'];
  warmupMs: number;
  durationMs: number;
}

export interface Measurement {
  target: Target;
  scenario: string;
  load: LoadResult;
  cpuSeconds: number;
  /** Server CPU per delivered message, in microseconds. */
  cpuMicrosPerDelivery: number;
  rssBytes: number;
  /** Idle scenario: server memory (RSS) added per connection. */
  bytesPerConnection: number;
  /** Idle scenario: live JS heap added per connection (after a full GC). */
  heapBytesPerConnection: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not listen on ${port}`);
}

/** Starts one server under test in its own process: Tandem with SQLite durability on, the others stock. */
async function startServer(
  target: Target,
): Promise<{ child: ChildProcess; base: string; heapFile: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  const heapFile = join(dataDir, 'heap.json');
  // Limits raised so the benchmark measures throughput, not our abuse protection.
  const tandemArgs = (bin: string): string[] => [
    bin,
    'serve',
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--log-level',
    'warn',
    '--max-connections-per-ip',
    '0',
    '--max-updates-per-second',
    '10000',
    '--update-burst',
    '10000',
    '--max-awareness-per-second',
    '10000',
    '--awareness-burst',
    '10000',
    '--max-rooms',
    '100000',
    '--max-connections-per-room',
    '100000',
  ];
  const args: Record<Target, string[]> = {
    tandem: tandemArgs(TANDEM_BIN),
    baseline: tandemArgs(join(baselineCheckout.dir, 'packages/server/bin/tandem.mjs')),
    ywebsocket: [here('./servers/ywebsocket.cjs'), String(port)],
    hocuspocus: [here('./servers/hocuspocus.mjs'), String(port)],
    wsrelay: [here('./servers/ws-relay.cjs'), String(port)],
  };
  const preload = ['--expose-gc', '--require', here('./servers/gc-on-signal.cjs')];
  const child = spawn(process.execPath, [...preload, ...args[target]], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, BENCH_HEAP_FILE: heapFile },
  });
  await waitForPort(port, child);
  return {
    child,
    base: `ws://127.0.0.1:${port}`,
    heapFile,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface MemorySample {
  cpuSeconds: number;
  rssBytes: number;
  /** NaN unless sampled after a full GC. */
  heapBytes: number;
}

/** CPU and RSS now; the heap is only known after a full collection (settledTree). */
const sampleTree = (pid: number): MemorySample => ({ ...processTree(pid), heapBytes: NaN });

/** Memory after a full collection in the server (see servers/gc-on-signal.cjs). */
async function settledTree(pid: number, heapFile: string): Promise<MemorySample> {
  rmSync(heapFile, { force: true });
  process.kill(pid, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 500));
  let heapBytes = NaN;
  try {
    heapBytes = (JSON.parse(readFileSync(heapFile, 'utf8')) as { heapUsed: number }).heapUsed;
  } catch {
    // not written (yet): the row shows no heap figure
  }
  return { ...processTree(pid), heapBytes };
}

/** Runs one scenario against one server: fresh server, separate load-generator process. */
export async function measure(target: Target, scenario: Scenario): Promise<Measurement> {
  const server = await startServer(target);
  try {
    await new Promise((r) => setTimeout(r, 300));
    // Memory is what the idle scenario measures, so sample it after a full GC there.
    const memorySample = async (): Promise<MemorySample> =>
      scenario.mode === 'idle' ? settledTree(server.child.pid!, server.heapFile) : sampleTree(server.child.pid!);
    const baseline = await memorySample();
    const config: LoadConfig = { target, base: server.base, ...scenario };
    const gen = spawn(process.execPath, ['--import', 'tsx', here('./loadgen.ts'), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let atStart = baseline;
    let atEnd = baseline;
    let atReady = baseline;
    let result: LoadResult | null = null;
    for await (const line of createInterface({ input: gen.stdout! })) {
      const msg = JSON.parse(line) as { phase?: string; result?: LoadResult };
      if (msg.phase === 'ready') atReady = await memorySample();
      if (msg.phase === 'measure-start') atStart = sampleTree(server.child.pid!);
      if (msg.phase === 'measure-end') atEnd = sampleTree(server.child.pid!);
      if (msg.result) result = msg.result;
    }
    if (!result) throw new Error(`load generator for ${target}/${scenario.name} produced no result`);
    const cpuSeconds = atEnd.cpuSeconds - atStart.cpuSeconds;
    return {
      target,
      scenario: scenario.name,
      load: result,
      cpuSeconds,
      cpuMicrosPerDelivery: result.delivered > 0 ? (cpuSeconds * 1e6) / result.delivered : 0,
      rssBytes: atEnd.rssBytes,
      bytesPerConnection: result.connected > 0 ? (atReady.rssBytes - baseline.rssBytes) / result.connected : 0,
      heapBytesPerConnection: result.connected > 0 ? (atReady.heapBytes - baseline.heapBytes) / result.connected : NaN,
    };
  } finally {
    await server.stop();
  }
}
