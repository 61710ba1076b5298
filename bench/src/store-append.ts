// The SQLite store alone: durable appends spread over rooms, in group commits of a given size, as the
// server makes them. Reports commit throughput and CPU per durable append. Runs the compiled
// SqliteStore of this checkout, or of another one (`--server ../base/packages/server`), so two drivers
// can be compared on the same Node, interleaved:
//   npm run store-bench -w @tandem/bench -- --server ../base/packages/server --repeat 3
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface StoreLike {
  appendUpdate(room: string, update: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

const { values } = parseArgs({
  options: {
    server: { type: 'string', multiple: true },
    appends: { type: 'string', default: '20000' },
    rooms: { type: 'string', default: '200' },
    'per-commit': { type: 'string', default: '1,20' },
    repeat: { type: 'string', default: '3' },
    bytes: { type: 'string', default: '120' },
  },
});
const servers = values.server?.length ? values.server : [new URL('../../packages/server', import.meta.url).pathname];
const appends = Number(values.appends);
const rooms = Number(values.rooms);
const bytes = Number(values.bytes);

async function run(serverDir: string, perCommit: number): Promise<{ cpuUs: number; perSecond: number }> {
  const mod = (await import(pathToFileURL(join(resolve(serverDir), 'dist/index.js')).href)) as {
    SqliteStore: new (file: string, options?: object) => StoreLike;
  };
  const dir = mkdtempSync(join(tmpdir(), 'tandem-store-bench-'));
  const store = new mod.SqliteStore(join(dir, 'tandem.db'), { commitWindowMs: 0 });
  const update = new Uint8Array(bytes).fill(7);
  const cpu = process.cpuUsage();
  const start = performance.now();
  // Each batch is queued in one turn, so it shares one commit (the store's group commit).
  for (let i = 0; i < appends; i += perCommit) {
    const batch: Promise<number>[] = [];
    for (let j = i; j < Math.min(i + perCommit, appends); j++)
      batch.push(store.appendUpdate(`room-${j % rooms}`, update));
    await Promise.all(batch);
  }
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { cpuUs: (used.user + used.system) / appends, perSecond: (appends / wallMs) * 1000 };
}

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
print(`Node ${process.versions.node}; ${appends} appends of ${bytes} B over ${rooms} rooms, synchronous=FULL`);
print('| server | appends per commit | CPU per durable append | appends/s | runs |');
print('|---|---|---|---|---|');
for (const perCommit of values['per-commit'].split(',').map(Number)) {
  const results = new Map<string, { cpuUs: number; perSecond: number }[]>(servers.map((s) => [s, []]));
  for (let r = 0; r < Number(values.repeat); r++) {
    for (const server of servers) results.get(server)!.push(await run(server, perCommit));
  }
  for (const [server, runs] of results) {
    const cpu = runs.map((x) => x.cpuUs);
    print(
      `| ${server} | ${perCommit} | ${median(cpu).toFixed(1)} µs | ${Math.round(median(runs.map((x) => x.perSecond)))} | ${cpu.map((c) => c.toFixed(1)).join(' / ')} |`,
    );
  }
}
