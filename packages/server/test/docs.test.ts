import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../src/errors.js';

const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));

describe('docs', () => {
  it('name every error code of the registry', () => {
    const text = readdirSync(DOCS)
      .filter((f) => f.endsWith('.md'))
      .map((f) => readFileSync(`${DOCS}${f}`, 'utf8'))
      .join('\n');
    const missing = Object.keys(errorCodes).filter((code) => !text.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
});
