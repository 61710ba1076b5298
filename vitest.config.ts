import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `source` export condition), so tests never
// run a stale dist/. Spawned servers (bin/tandem.mjs) run the build, which scripts/test.mjs makes first.
const conditions = ['source', 'module', 'node', 'development|production'];

export default defineConfig({
  plugins: [
    {
      // Vitest externalises the modules in builtinModules, which on Node 22 leaves out the prefix-only
      // node:sqlite: the jsdom tests that start a server would then try to bundle the store.
      name: 'tandem:node-sqlite-is-built-in',
      configResolved(config) {
        for (const environment of Object.values(config.environments)) {
          const external = environment.resolve.external;
          if (Array.isArray(external) && !external.includes('node:sqlite')) external.push('node:sqlite');
        }
      },
    },
  ],
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.{ts,tsx}',
      'bench/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
    ],
    pool: 'forks',
    // The machine has 2 cores.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
