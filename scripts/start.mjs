#!/usr/bin/env node
// `npm start`: build the packages, build the demo when its build is missing or older than its sources,
// then run `tandem serve` with the demo at `/`. Extra arguments go to `tandem serve`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const demoDist = 'apps/demo/dist';
const demoSources = [
  'apps/demo/src',
  'apps/demo/index.html',
  'apps/demo/vite.config.ts',
  'apps/demo/package.json',
  'packages/protocol/src',
  'packages/client/src',
  'packages/react/src',
];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const tsc = 'node_modules/.bin/tsc';
for (const pkg of ['protocol', 'client', 'react', 'server']) run(tsc, ['-p', `packages/${pkg}/tsconfig.build.json`]);

const builtAt = newestMtime(join(demoDist, 'index.html'));
if (builtAt === 0 || Math.max(...demoSources.map(newestMtime)) > builtAt) {
  console.log('Building the demo (apps/demo)…');
  run('node_modules/.bin/vite', ['build', '--logLevel', 'warn', 'apps/demo']);
}

const server = spawn(
  process.execPath,
  ['packages/server/bin/tandem.mjs', 'serve', '--static-dir', demoDist, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
// Ctrl+C reaches the whole process group; a supervisor's SIGTERM reaches only us: pass it on.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
