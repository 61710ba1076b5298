import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packBrowserPackages, run } from './pack-packages.js';

type Tarballs = ReturnType<typeof packBrowserPackages>;

/** The browser packages packed into a fresh temporary directory (removed when the test finishes). */
function packed(prefix: string): { dir: string; tarballs: Tarballs } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, tarballs: packBrowserPackages(dir) };
}

/**
 * An app outside this repository depending on the tarballs and on its own `yjs` and `react`, with
 * `extra` fields in its package.json (a package manager's settings). Returns its directory.
 */
function outsideApp(dir: string, tarballs: Tarballs, extra: Record<string, unknown> = {}): string {
  const app = join(dir, 'app');
  mkdirSync(app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'outside-app',
      private: true,
      type: 'module',
      dependencies: {
        '@tandem/protocol': `file:${tarballs.protocol}`,
        '@tandem/client': `file:${tarballs.client}`,
        '@tandem/react': `file:${tarballs.react}`,
        yjs: '^13.6.27',
        react: '^19.0.0',
      },
      ...extra,
    }),
  );
  return app;
}

/** Loads all three packages in the installed app, as its own code would, and reports what it saw. */
function expectPackagesLoad(app: string): void {
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
}

/**
 * What an outside app gets from `npm pack`: the browser packages as tarballs (built by `prepack`, so
 * `dist/` is in them), installed into an app that is not part of this repository.
 */
describe('the packed browser packages in an outside app', () => {
  it(
    'install with npm: dist/ inside, one copy of yjs, the client and React bindings load',
    { timeout: 300_000 },
    () => {
      const { dir, tarballs } = packed('tandem-packed-');
      expect(readdirSync(join(dir, 'packed')).sort()).toEqual([
        'tandem-client-0.1.0.tgz',
        'tandem-protocol-0.1.0.tgz',
        'tandem-react-0.1.0.tgz',
      ]);
      for (const tarball of Object.values(tarballs)) {
        const files = run('tar', ['-tzf', tarball], dir).split('\n');
        expect(files, tarball).toContain('package/dist/index.js');
        expect(files, tarball).toContain('package/dist/index.d.ts');
      }
      const app = outsideApp(dir, tarballs);
      run('npm', ['install', '--no-fund', '--prefer-offline', '--loglevel=error'], app);
      // Two copies of Yjs break documents: the app's is the only one.
      const yjsCopies = run('find', ['node_modules', '-path', '*/yjs/package.json'], app).trim().split('\n');
      expect(yjsCopies).toEqual(['node_modules/yjs/package.json']);
      expectPackagesLoad(app);
    },
  );

  it(
    'install with pnpm (the workspace packages pinned to their tarballs with pnpm.overrides)',
    { timeout: 300_000 },
    () => {
      const { dir, tarballs } = packed('tandem-packed-pnpm-');
      // pnpm itself, from the npm registry like everything else here.
      run(
        'npm',
        ['install', '--prefix', join(dir, 'tool'), '--no-fund', '--prefer-offline', '--loglevel=error', 'pnpm@10'],
        dir,
      );
      // @tandem/client asks for @tandem/protocol 0.1.0, which no registry has yet: pnpm resolves a
      // dependency's dependencies from the registry unless told where they are.
      const app = outsideApp(dir, tarballs, {
        pnpm: {
          overrides: { '@tandem/protocol': `file:${tarballs.protocol}`, '@tandem/client': `file:${tarballs.client}` },
        },
      });
      run(join(dir, 'tool/node_modules/.bin/pnpm'), ['install', '--prefer-offline', '--reporter=silent'], app);
      const yjsVersions = readdirSync(join(app, 'node_modules/.pnpm')).filter((entry) => entry.startsWith('yjs@'));
      expect(yjsVersions).toHaveLength(1);
      expectPackagesLoad(app);
    },
  );
});
