import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packBrowserPackages, run } from './pack-packages.js';

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
      const packed = packBrowserPackages(dir);
      const tarballs = readdirSync(join(dir, 'packed')).sort();
      expect(tarballs).toEqual(['tandem-client-0.1.0.tgz', 'tandem-protocol-0.1.0.tgz', 'tandem-react-0.1.0.tgz']);
      for (const tarball of Object.values(packed)) {
        const files = run('tar', ['-tzf', tarball], dir).split('\n');
        expect(files, tarball).toContain('package/dist/index.js');
        expect(files, tarball).toContain('package/dist/index.d.ts');
      }

      const app = join(dir, 'app');
      run('mkdir', ['-p', app], dir);
      const tarball = (name: keyof typeof packed) => `file:${packed[name]}`;
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

  it(
    'install with pnpm (the workspace packages pinned to their tarballs with pnpm.overrides)',
    { timeout: 300_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'tandem-packed-pnpm-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const packed = packBrowserPackages(dir);
      // pnpm itself, from the npm registry like everything else here.
      run(
        'npm',
        ['install', '--prefix', join(dir, 'tool'), '--no-fund', '--prefer-offline', '--loglevel=error', 'pnpm@10'],
        dir,
      );
      const app = join(dir, 'app');
      run('mkdir', ['-p', app], dir);
      const tarball = (name: keyof typeof packed) => `file:${packed[name]}`;
      // @tandem/client asks for @tandem/protocol 0.1.0, which no registry has yet: pnpm resolves a
      // dependency's dependencies from the registry unless told where they are.
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
          pnpm: { overrides: { '@tandem/protocol': tarball('protocol'), '@tandem/client': tarball('client') } },
        }),
      );
      run(join(dir, 'tool/node_modules/.bin/pnpm'), ['install', '--prefer-offline', '--reporter=silent'], app);
      const yjsVersions = readdirSync(join(app, 'node_modules/.pnpm')).filter((entry) => entry.startsWith('yjs@'));
      expect(yjsVersions).toHaveLength(1);
      writeFileSync(
        join(app, 'main.js'),
        `import * as Y from 'yjs';
       import { TandemProvider } from '@tandem/client';
       import { TandemRoom } from '@tandem/react';
       const p = new TandemProvider({ url: 'ws://127.0.0.1:9/v1/sync', room: 'r', doc: new Y.Doc(), connect: false });
       console.log(JSON.stringify({ save: p.saveState, react: typeof TandemRoom }));
       p.destroy();`,
      );
      expect(JSON.parse(run(process.execPath, ['main.js'], app))).toEqual({ save: 'unknown', react: 'function' });
    },
  );
});
