import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function run(command: string, args: string[], cwd: string): string {
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
 * What an outside app gets from `npm pack`: the browser packages as tarballs (built by `prepack`, so
 * `dist/` is in them), installed with npm into an app that is not part of this repository.
 */
describe('the packed browser packages in an outside app', () => {
  it(
    'install with npm: dist/ inside, one copy of yjs, the client and React bindings load',
    { timeout: 300_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'tandem-packed-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      // Packed from copies without dist/, as a fresh clone has them: only `prepack` can put it there.
      const packed = join(dir, 'packed');
      const mirror = join(dir, 'repo');
      run('mkdir', ['-p', packed, join(mirror, 'packages')], dir);
      run('cp', [join(ROOT, 'tsconfig.base.json'), mirror], dir);
      run('ln', ['-s', join(ROOT, 'node_modules'), join(mirror, 'node_modules')], dir);
      for (const name of ['protocol', 'client', 'react']) {
        run('cp', ['-r', join(ROOT, 'packages', name), join(mirror, 'packages')], dir);
        rmSync(join(mirror, 'packages', name, 'dist'), { recursive: true, force: true });
        run('npm', ['pack', '--silent', '--pack-destination', packed], join(mirror, 'packages', name));
      }
      const tarballs = readdirSync(packed).sort();
      expect(tarballs).toEqual(['tandem-client-0.1.0.tgz', 'tandem-protocol-0.1.0.tgz', 'tandem-react-0.1.0.tgz']);
      for (const tarball of tarballs) {
        const files = run('tar', ['-tzf', join(packed, tarball)], dir).split('\n');
        expect(files, tarball).toContain('package/dist/index.js');
        expect(files, tarball).toContain('package/dist/index.d.ts');
      }

      const app = join(dir, 'app');
      run('mkdir', ['-p', app], dir);
      const tarball = (name: string) => `file:${join(packed, `tandem-${name}-0.1.0.tgz`)}`;
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({
          name: 'outside-app',
          private: true,
          type: 'module',
          dependencies: {
            '@tandem/protocol': tarball('protocol'),
            '@tandem/client': tarball('client'),
            '@tandem/react': tarball('react'),
            yjs: '^13.6.27',
            react: '^19.0.0',
          },
        }),
      );
      run('npm', ['install', '--no-fund', '--prefer-offline', '--loglevel=error'], app);
      // Two copies of Yjs break documents: the app's is the only one.
      const yjsCopies = run('find', ['node_modules', '-path', '*/yjs/package.json'], app).trim().split('\n');
      expect(yjsCopies).toEqual(['node_modules/yjs/package.json']);
      writeFileSync(
        join(app, 'main.js'),
        `import * as Y from 'yjs';
       import { TandemProvider } from '@tandem/client';
       import { TandemRoom, useArray } from '@tandem/react';
       import { isValidRoomName } from '@tandem/protocol';
       const p = new TandemProvider({ url: 'ws://127.0.0.1:9/v1/sync', room: 'r', doc: new Y.Doc(), connect: false });
       console.log(JSON.stringify({ save: p.saveState, room: isValidRoomName('a/../b'), react: typeof TandemRoom + typeof useArray }));
       p.destroy();`,
      );
      expect(JSON.parse(run(process.execPath, ['main.js'], app))).toEqual({
        save: 'unknown',
        room: false,
        react: 'functionfunction',
      });
    },
  );
});
