// Prints the client's size as an app bundles it. The budget is checked on what @tandem/client adds to a
// real Vite production build of a small app that already uses Yjs (the figure a user sees, measured as
// two builds: the app with the client, and without); esbuild alone, with `yjs` left out, also proves
// that nothing Node-only is pulled in. Run: npm run size -w @tandem/client
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build as viteBuild } from 'vite';

export const BUDGET_BYTES = 15 * 1024;

const CLIENT_DIR = fileURLToPath(new URL('..', import.meta.url));
const YJS_APP = `import * as Y from 'yjs';
const doc = new Y.Doc();
doc.getText('t').insert(0, 'x');
console.log(Y.encodeStateAsUpdate(doc));`;
const CLIENT_APP = `${YJS_APP}
import { TandemProvider } from '@tandem/client';
console.log(new TandemProvider({ url: 'ws://localhost:1234/v1/sync', room: 'r', doc }));`;

/** Gzipped bytes of every chunk of a Vite production build of an app whose entry is `code`. */
async function viteAppBytes(code: string): Promise<number> {
  const entry = 'virtual:size-app';
  const result = await viteBuild({
    configFile: false,
    root: CLIENT_DIR,
    logLevel: 'silent',
    resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
    build: { write: false, minify: true, rollupOptions: { input: entry } },
    plugins: [
      {
        name: 'size-app',
        resolveId: (id: string) => (id === entry ? `\0${entry}` : null),
        load: (id: string) => (id === `\0${entry}` ? code : null),
      },
    ],
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap(
    (r) => (r as { output: { type: string; code?: string }[] }).output,
  );
  return outputs
    .filter((o) => o.type === 'chunk')
    .reduce((bytes, o) => bytes + gzipSync(o.code!, { level: 9 }).length, 0);
}

/** What @tandem/client adds, min+gzip, to a Vite-built app that already has Yjs. */
export async function sizeInViteApp(): Promise<{ yjsOnly: number; withClient: number; added: number }> {
  const yjsOnly = await viteAppBytes(YJS_APP);
  const withClient = await viteAppBytes(CLIENT_APP);
  return { yjsOnly, withClient, added: withClient - yjsOnly };
}

export async function bundleSize(): Promise<{ minified: number; gzipped: number }> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    external: ['yjs'],
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await bundleSize();
  const { added } = await sizeInViteApp();
  process.stdout.write(
    `@tandem/client: ${(added / 1024).toFixed(1)} KB min+gzip added to a Vite app with Yjs ` +
      `(budget ${BUDGET_BYTES / 1024} KB); esbuild alone: ${(minified / 1024).toFixed(1)} KB minified, ` +
      `${(gzipped / 1024).toFixed(1)} KB min+gzip without yjs\n`,
  );
  if (added > BUDGET_BYTES) process.exitCode = 1;
}
