#!/usr/bin/env node
// Fails when the packages' source has an import cycle. Type-only imports count: eslint-plugin-import's
// no-cycle skips them, but a cycle of types is still two modules that cannot be understood (or moved)
// one without the other. Prints each cycle's modules; exits 1 if there is any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOTS = ['packages/protocol/src', 'packages/client/src', 'packages/react/src', 'packages/server/src'];
const SPECIFIER = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) files.push(resolve(path));
  }
};
ROOTS.forEach(walk);
const known = new Set(files);

/** The source file a relative specifier names (`./x.js` is `./x.ts` or `./x.tsx`). */
function target(from, specifier) {
  const base = resolve(dirname(from), specifier).replace(/\.js$/, '');
  return [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((path) => known.has(path)) ?? null;
}

const graph = new Map(
  files.map((file) => [
    file,
    [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].map((m) => target(file, m[1])).filter(Boolean),
  ]),
);

// Tarjan's strongly connected components: every component of two or more modules is a cycle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v)) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), index.get(w)));
    }
  }
  if (low.get(v) !== index.get(v)) return;
  const component = [];
  let w;
  do {
    w = stack.pop();
    onStack.delete(w);
    component.push(w);
  } while (w !== v);
  if (component.length > 1 || graph.get(v).includes(v)) cycles.push(component);
}
for (const file of files) if (!index.has(file)) visit(file);

for (const cycle of cycles) {
  console.log(`import cycle: ${cycle.map((f) => relative(process.cwd(), f)).join(' ↔ ')}`);
}
console.log(`${files.length} modules, ${cycles.length} import cycles`);
process.exit(cycles.length > 0 ? 1 : 0);
