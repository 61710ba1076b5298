import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, cpSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BROWSER_PACKAGES = ['protocol', 'client', 'react'] as const;

/** Runs a command, throwing with its output when it fails. */
export function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * `npm pack` of the browser packages into `dir/packed`, from copies without dist/ (as a fresh clone
 * has them: only each package's `prepack` can put it in the tarball). Returns each tarball's path.
 */
export function packBrowserPackages(dir: string): Record<(typeof BROWSER_PACKAGES)[number], string> {
  const packed = join(dir, 'packed');
  const mirror = join(dir, 'repo');
  mkdirSync(packed, { recursive: true });
  mkdirSync(join(mirror, 'packages'), { recursive: true });
  copyFileSync(join(ROOT, 'tsconfig.base.json'), join(mirror, 'tsconfig.base.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(mirror, 'node_modules'));
  const tarballs = {} as Record<(typeof BROWSER_PACKAGES)[number], string>;
  for (const name of BROWSER_PACKAGES) {
    const copy = join(mirror, 'packages', name);
    cpSync(join(ROOT, 'packages', name), copy, { recursive: true });
    rmSync(join(copy, 'dist'), { recursive: true, force: true });
    run('npm', ['pack', '--silent', '--pack-destination', packed], copy);
    tarballs[name] = join(packed, `tandem-${name}-0.1.0.tgz`);
  }
  return tarballs;
}
