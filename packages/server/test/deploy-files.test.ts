import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configEnvName, configKeys } from '../src/ops/config.js';

const exec = promisify(execFile);
const root = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

async function haveDockerCompose(): Promise<boolean> {
  if (process.env.CI === 'true') return true;
  const found = await exec('docker-compose', ['version']).then(
    () => true,
    () => false,
  );
  if (!found) {
    // eslint-disable-next-line no-console -- a skipped check must be impossible to miss
    console.warn('\n!!! SKIPPING the compose.yaml syntax check: no docker-compose (apt-get install docker-compose)\n');
  }
  return found;
}

const withCompose = await haveDockerCompose();

describe('deployment files', () => {
  it.runIf(withCompose)('compose.yaml is valid Compose (docker-compose config)', async () => {
    const { stderr } = await exec('docker-compose', ['-f', root('compose.yaml'), 'config', '-q'], {
      env: { ...process.env, TANDEM_JWT_SECRET: 'x'.repeat(32) },
    });
    expect(stderr).toBe('');
  });

  it('sets only settings the server has, in compose.yaml and the Dockerfile', () => {
    const known = new Set(configKeys.map(configEnvName));
    for (const file of ['compose.yaml', 'Dockerfile']) {
      const used = [...readFileSync(root(file), 'utf8').matchAll(/\b(TANDEM_[A-Z_]+)\b/g)].map((m) => m[1]!);
      expect(used.length, file).toBeGreaterThan(2);
      expect(
        used.filter((name) => !known.has(name)),
        file,
      ).toEqual([]);
    }
  });

  it('the proxy sends traffic to the instances compose.yaml defines', () => {
    const compose = readFileSync(root('compose.yaml'), 'utf8');
    const upstreams = [...readFileSync(root('deploy/Caddyfile'), 'utf8').matchAll(/\b(tandem\d+):1234\b/g)].map(
      (m) => m[1]!,
    );
    expect(upstreams.length).toBeGreaterThan(1);
    for (const name of upstreams) expect(compose).toMatch(new RegExp(`^  ${name}:`, 'm'));
  });
});
