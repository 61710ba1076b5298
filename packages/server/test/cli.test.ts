import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { configFlagName, configKeys, parseConfig } from '../src/ops/config.js';
import { SECRET } from './support/auth.js';
import { spawnServer } from './support/child-server.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/tandem.mjs', import.meta.url));

describe('tandem CLI', () => {
  it('serve --help documents every configuration flag', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'serve', '--help']);
    const missing = configKeys.map(configFlagName).filter((flag) => !stdout.includes(flag));
    expect(missing).toEqual([]);
    // Every "(default X)" the help states is the default the config really has.
    const defaults = parseConfig({}) as Record<string, unknown>;
    const stated = [...stdout.matchAll(/--([a-z][a-z-]+)(?:(?!--)[^\n])*?\(default ([^;)]+)/g)];
    expect(stated.length).toBeGreaterThan(20);
    const wrong = stated
      .map(([, flag, value]) => ({
        flag,
        value: value!.trim(),
        key: configKeys.find((k) => configFlagName(k) === `--${flag}`),
      }))
      .filter(({ key, value }) => key !== undefined && String(defaults[key]) !== value);
    expect(wrong).toEqual([]);
  });

  it('refuses invalid configuration with a clear message and exit code 2', async () => {
    const failure = await run(process.execPath, [BIN, 'serve', '--port', 'nope']).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringMatching(/--port/) });
    const noSecret = await run(process.execPath, [BIN, 'serve', '--webhook-url', 'http://x']).catch((e: unknown) => e);
    expect(noSecret).toMatchObject({ code: 2, stderr: expect.stringMatching(/--webhook-secret/) });
  });

  it('token prints a JWT with the requested claims', async () => {
    const { stdout } = await run(process.execPath, [
      BIN,
      'token',
      '--secret',
      SECRET,
      '--user',
      'ada',
      '--room',
      'team-42/*',
      '--room',
      'pub/**',
      '--role',
      'viewer',
      '--ttl',
      '15m',
    ]);
    const claims = decodeJwt(stdout.trim());
    expect(claims).toMatchObject({ sub: 'ada', rooms: { 'team-42/*': 'viewer', 'pub/**': 'viewer' } });
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('accepts repeated list flags (--webhook-url a --webhook-url b)', async () => {
    const server = await spawnServer([
      '--store',
      'memory',
      '--webhook-secret',
      'whsec-0123456789',
      '--webhook-url',
      'http://127.0.0.1:9/a',
      '--webhook-url',
      'http://127.0.0.1:9/b',
    ]);
    expect(server.logs.find((l) => l.port !== undefined)).toMatchObject({ webhooks: 2 });
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });
});
