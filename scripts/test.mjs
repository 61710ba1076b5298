#!/usr/bin/env node
// The whole suite: type-check, lint, format check, then every test. Each check counts as one test in
// the summary, so a type error fails the run like a failing test. Ends with "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const results = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function check(name, command, args) {
  console.log(`\n▶ ${name}: ${command} ${args.join(' ')}`);
  const run = spawnSync(command, args, { stdio: 'inherit' });
  if (run.status === 0) {
    results.passed++;
  } else {
    results.failed++;
    failures.push(name);
  }
}

// Local binaries, not npx: no registry lookups, and nothing printed after the summary line.
const bin = (name) => `node_modules/.bin/${name}`;
check('typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
check('typecheck react', bin('tsc'), ['-p', 'packages/react/tsconfig.json', '--noEmit']);
check('typecheck demo', bin('tsc'), ['-p', 'apps/demo/tsconfig.json', '--noEmit']);
check('typecheck demo tests', bin('tsc'), ['-p', 'apps/demo/test/tsconfig.json', '--noEmit']);
// Each package's dist/ (with declarations): spawned servers and the CLI run the compiled code.
for (const pkg of ['protocol', 'client', 'react', 'server']) {
  check(`build ${pkg}`, bin('tsc'), ['-p', `packages/${pkg}/tsconfig.build.json`]);
}
// The browser tests drive the built demo, served by the server like `npm start` does.
check('build demo', bin('vite'), ['build', '--logLevel', 'warn', 'apps/demo']);
check('eslint', bin('eslint'), ['.']);
check('prettier', bin('prettier'), ['--check', '.']);

const report = '.vitest-results.json';
rmSync(report, { force: true });
console.log('\n▶ tests: vitest run');
const vitest = spawnSync(
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  results.passed += json.numPassedTests;
  results.failed += json.numFailedTests;
  results.skipped += json.numPendingTests + json.numTodoTests;
  // A suite that fails to load has no tests to count but must still fail the run.
  const brokenFiles = json.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0);
  results.failed += brokenFiles.length;
  for (const f of brokenFiles) failures.push(`load ${f.name}`);
  rmSync(report, { force: true });
} else {
  results.failed++;
  failures.push('vitest produced no report');
}
if (vitest.status !== 0 && results.failed === 0) {
  results.failed++;
  failures.push(`vitest exited with ${vitest.status}`);
}

if (failures.length) console.log(`\nFailed: ${failures.join(', ')}`);
const skipped = results.skipped ? `, ${results.skipped} skipped` : '';
console.log(`\n${results.passed} passed, ${results.failed} failed${skipped}`);
process.exit(results.failed === 0 ? 0 : 1);
