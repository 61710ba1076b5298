// Writes docs/api.md from the OpenAPI document the routes generate. Run: npm run docs:api
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderApiReference } from '../src/http/api-reference.js';

const target = fileURLToPath(new URL('../../../docs/api.md', import.meta.url));
writeFileSync(target, await renderApiReference());
process.stdout.write(`wrote ${target}\n`);
