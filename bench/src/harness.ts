import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { LoadConfig, LoadResult } from './loadgen.js';
import { connectionsTo, processesNamed, processTree } from './proc.js';
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
  transport?: LoadConfig['transport'];
  presence?: boolean;
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
  /** Of that, the part in user space (the server's own code, V8, libraries); the rest is the kernel's. */
  userMicrosPerDelivery: number;
  rssBytes: number;
  /** Idle scenario: server memory (RSS) added per connection. */
  bytesPerConnection: number;
  /** Idle scenario: live JS heap added per connection (after a full GC). */
  heapBytesPerConnection: number;
  /** Established client connections each instance had once the load generator was ready (from /proc/net/tcp). */
  connectionsPerInstance: number[];
  /** Cluster targets: CPU of the local PostgreSQL and Redis processes per delivery, in microseconds. */
  servicesMicrosPerDelivery: number;
}

const SERVICES = ['postgres', 'redis-server'] as const;

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

interface RunningServer {
  /** One process per instance (two for the cluster targets). */
  children: ChildProcess[];
  ports: number[];
  bases: string[];
  heapFile: string;
  stop: () => Promise<void>;
}

// The services of the cluster targets: CI's PostgreSQL and Redis, or BENCH_DATABASE_URL / BENCH_REDIS_URL.
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const INSTANCES = 2;

const stopChild = async (child: ChildProcess): Promise<void> => {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
};

/**
 * Starts the server under test: one process (Tandem with SQLite durability on, the others stock), or
 * for the cluster targets two instances sharing rooms — Tandem on PostgreSQL + Redis, Hocuspocus with
 * its Redis extension — started one after the other so the first one migrates the schema.
 */
async function startServer(target: Target): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  const heapFile = join(dataDir, 'heap.json');
  // Limits raised so the benchmark measures throughput, not our abuse protection.
  const tandemArgs = (bin: string, port: number): string[] => [
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
    // Every client comes from 127.0.0.1: the per-address room quota (200) would refuse most of the idle
    // scenario's 400 rooms.
    '--max-rooms-per-ip',
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
  const shared = `bench_${process.pid}_${Date.now().toString(36)}`;
  const args = (port: number): string[] => {
    switch (target) {
      case 'tandem':
        return tandemArgs(TANDEM_BIN, port);
      case 'baseline':
        return tandemArgs(join(baselineCheckout.dir, 'packages/server/bin/tandem.mjs'), port);
      case 'tandem-cluster':
        return [
          ...tandemArgs(TANDEM_BIN, port),
          ...['--store', 'postgres', '--database-url', DATABASE_URL, '--database-schema', shared],
          ...['--bus', 'redis', '--redis-url', REDIS_URL, '--redis-channel', shared],
        ];
      case 'hocuspocus-redis':
        return [here('./servers/hocuspocus-redis.mjs'), String(port), REDIS_URL, shared];
      case 'ywebsocket':
        return [here('./servers/ywebsocket.cjs'), String(port)];
      case 'ywebsocket-leveldb':
        // The same server: y-websocket persists to y-leveldb when YPERSISTENCE is set (serverEnv).
        return [here('./servers/ywebsocket.cjs'), String(port)];
      case 'hocuspocus-sqlite':
        return [here('./servers/hocuspocus-sqlite.mjs'), String(port), dataDir];
      case 'hocuspocus':
        return [here('./servers/hocuspocus.mjs'), String(port)];
      case 'wsrelay':
        return [here('./servers/ws-relay.cjs'), String(port)];
    }
  };
  const preload = ['--expose-gc', '--require', here('./servers/gc-on-signal.cjs')];
  const instances = target === 'tandem-cluster' || target === 'hocuspocus-redis' ? INSTANCES : 1;
  const children: ChildProcess[] = [];
  const bases: string[] = [];
  const ports: number[] = [];
  for (let i = 0; i < instances; i++) {
    const port = await freePort();
    ports.push(port);
    const child = spawn(process.execPath, [...preload, ...args(port)], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: serverEnv(target, process.env, { dataDir, heapFile }),
    });
    children.push(child);
    await waitForPort(port, child);
    bases.push(`ws://127.0.0.1:${port}`);
  }
  return {
    children,
    ports,
    bases,
    heapFile,
    stop: async () => {
      await Promise.all(children.map(stopChild));
      rmSync(dataDir, { recursive: true, force: true });
      if (target === 'tandem-cluster') await dropSchema(shared);
    },
  };
}

/** The environment of a server under test. */
export function serverEnv(
  target: Target,
  env: NodeJS.ProcessEnv,
  paths: { dataDir: string; heapFile: string },
): NodeJS.ProcessEnv {
  // y-websocket's server persists whenever YPERSISTENCE is set: only its durable target may see it.
  const { YPERSISTENCE: _inherited, ...rest } = env;
  return {
    ...rest,
    BENCH_HEAP_FILE: paths.heapFile,
    ...(target === 'ywebsocket-leveldb' ? { YPERSISTENCE: join(paths.dataDir, 'leveldb') } : {}),
  };
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

interface MemorySample {
  cpuSeconds: number;
  userSeconds: number;
  rssBytes: number;
  /** NaN unless sampled after a full GC. */
  heapBytes: number;
}

/** CPU and RSS now, summed over the instances; the heap is only known after a full collection (settledTree). */
const sampleTree = (children: ChildProcess[]): MemorySample => {
  const trees = children.map((c) => processTree(c.pid!));
  return {
    cpuSeconds: trees.reduce((sum, t) => sum + t.cpuSeconds, 0),
    userSeconds: trees.reduce((sum, t) => sum + t.userSeconds, 0),
    rssBytes: trees.reduce((sum, t) => sum + t.rssBytes, 0),
    heapBytes: NaN,
  };
};

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
      scenario.mode === 'idle' ? settledTree(server.children[0]!.pid!, server.heapFile) : sampleTree(server.children);
    const baseline = await memorySample();
    const config: LoadConfig = { target, bases: server.bases, ...scenario };
    const gen = spawn(process.execPath, ['--import', 'tsx', here('./loadgen.ts'), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let atStart = baseline;
    let atEnd = baseline;
    let atReady = baseline;
    let result: LoadResult | null = null;
    let connectionsPerInstance: number[] = [];
    let servicesAtStart = 0;
    let servicesAtEnd = 0;
    for await (const line of createInterface({ input: gen.stdout! })) {
      const msg = JSON.parse(line) as { phase?: string; result?: LoadResult };
      if (msg.phase === 'ready') {
        connectionsPerInstance = server.ports.map(connectionsTo);
        atReady = await memorySample();
      }
      if (msg.phase === 'measure-start') {
        atStart = sampleTree(server.children);
        servicesAtStart = processesNamed(SERVICES);
      }
      if (msg.phase === 'measure-end') {
        atEnd = sampleTree(server.children);
        servicesAtEnd = processesNamed(SERVICES);
      }
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
      userMicrosPerDelivery:
        result.delivered > 0 ? ((atEnd.userSeconds - atStart.userSeconds) * 1e6) / result.delivered : 0,
      connectionsPerInstance,
      servicesMicrosPerDelivery:
        result.delivered > 0 ? ((servicesAtEnd - servicesAtStart) * 1e6) / result.delivered : 0,
      rssBytes: atEnd.rssBytes,
      bytesPerConnection: result.connected > 0 ? (atReady.rssBytes - baseline.rssBytes) / result.connected : 0,
      heapBytesPerConnection: result.connected > 0 ? (atReady.heapBytes - baseline.heapBytes) / result.connected : NaN,
    };
  } finally {
    await server.stop();
  }
}
