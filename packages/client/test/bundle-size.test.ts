import { describe, expect, it } from 'vitest';
import { BUDGET_BYTES, bundleSize, sizeInViteApp } from '../scripts/bundle-size.js';

describe('client bundle', () => {
  it('bundles for the browser with esbuild: no Node-only module pulled in', async () => {
    // esbuild's browser platform fails the build on a Node built-in.
    const { minified } = await bundleSize();
    expect(minified).toBeGreaterThan(1024); // it did bundle something
  });

  it(
    'adds less than its budget to a real Vite production build of an app that has Yjs',
    { timeout: 60_000 },
    async () => {
      const { yjsOnly, withClient, added } = await sizeInViteApp();
      expect(yjsOnly).toBeGreaterThan(10 * 1024); // Yjs itself was bundled in both
      expect(withClient).toBeGreaterThan(yjsOnly);
      expect(added).toBeLessThan(BUDGET_BYTES);
    },
  );
});
