// Prints the client's size as an app bundles it: minified and gzipped, with `yjs` left to the app (it is
// a peer dependency) and everything else the client pulls in (lib0, y-protocols, the protocol) included.
// Run: npm run size -w @tandem/client
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const BUDGET_BYTES = 15 * 1024;

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
  process.stdout.write(
    `@tandem/client: ${(minified / 1024).toFixed(1)} KB minified, ${(gzipped / 1024).toFixed(1)} KB min+gzip ` +
      `(budget ${BUDGET_BYTES / 1024} KB, without yjs)\n`,
  );
  if (gzipped > BUDGET_BYTES) process.exitCode = 1;
}
