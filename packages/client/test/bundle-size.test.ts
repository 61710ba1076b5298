import { describe, expect, it } from 'vitest';
import { BUDGET_BYTES, bundleSize } from '../scripts/bundle-size.js';

describe('client bundle', () => {
  it('stays under its min+gzip budget without yjs, and pulls in no Node-only module', async () => {
    const { gzipped, minified } = await bundleSize();
    expect(minified).toBeGreaterThan(1024); // it did bundle something
    expect(gzipped).toBeLessThan(BUDGET_BYTES);
  });
});
