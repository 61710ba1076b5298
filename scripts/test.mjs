#!/usr/bin/env node
// The whole suite: type-check, lint, format check, then every test. Each check counts as one test in
// the summary, so a type error fails the run like a failing test. Ends with "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const results = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

// Node 20 is end-of-life and has no built-in SQLite: say so instead of failing a hundred tests.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  console.log(`Node.js ${process.versions.node} is not supported (22.13+, i.e. the 22, 24 and 26 lines).`);
  console.log('Run the suite on a supported line: scripts/with-node.sh 24 node scripts/test.mjs');
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}

/** The suites run again on every other supported Node line (see below). */
const RUNTIME_SUITES = [
  'packages/server/test/runtime-soak.test.ts',
  'packages/server/test/sqlite-store.test.ts',
  'packages/server/test/crash-durability.test.ts',
  'packages/server/test/data-dir-lock.test.ts',
  'packages/server/test/drain.test.ts',
  'packages/server/test/cli.test.ts',
];

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
check('typecheck example react-todos', bin('tsc'), ['-p', 'examples/react-todos/tsconfig.json', '--noEmit']);
// Each package's dist/ (with declarations): spawned servers and the CLI run the compiled code.
for (const pkg of ['protocol', 'client', 'react', 'server']) {
  check(`build ${pkg}`, bin('tsc'), ['-p', `packages/${pkg}/tsconfig.build.json`]);
}
// The browser tests drive the built demo, served by the server like `npm start` does.
check('build demo', bin('vite'), ['build', '--logLevel', 'warn', 'apps/demo']);
check('eslint', bin('eslint'), ['.']);
// No import cycle in the packages' source, type-only imports included (eslint's layer rules cover the rest).
check('import cycles', process.execPath, ['scripts/check-import-cycles.mjs']);
check('prettier', bin('prettier'), ['--check', '.']);

/** Runs vitest (through `launcher`, e.g. another Node line) and counts its results into the summary. */
function runVitest(label, launcher, args) {
  const report = '.vitest-results.json';
  rmSync(report, { force: true });
  console.log(`\n▶ ${label}: vitest run ${args.join(' ')}`);
  const [command, ...prefix] = [...launcher, bin('vitest')];
  const vitest = spawnSync(
    command,
    [...prefix, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
    { stdio: 'inherit' },
  );
  const failedBefore = results.failed;
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    results.passed += json.numPassedTests;
    results.failed += json.numFailedTests;
    results.skipped += json.numPendingTests + json.numTodoTests;
    // A suite that fails to load has no tests to count but must still fail the run.
    const brokenFiles = json.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0);
    results.failed += brokenFiles.length;
    for (const f of brokenFiles) failures.push(`${label}: load ${f.name}`);
    if (json.numFailedTests) failures.push(`${label}: ${json.numFailedTests} failed`);
    rmSync(report, { force: true });
  } else {
    results.failed++;
    failures.push(`${label}: vitest produced no report`);
  }
  if (vitest.status !== 0 && results.failed === failedBefore) {
    results.failed++;
    failures.push(`${label}: vitest exited with ${vitest.status}`);
  }
}

runVitest('tests', [], process.argv.slice(2));

// The suites where the Node line matters (the built-in SQLite driver, child processes killed and
// collected, the drain) also run on the other supported lines: 22 and 26 in CI, or the lines listed in
// TANDEM_TEST_NODE_LINES (e.g. "22,26"; empty for none). Each line's binary comes from the npm registry.
const otherLines = (process.env.TANDEM_TEST_NODE_LINES ?? (process.env.CI === 'true' ? '22,26' : ''))
  .split(',')
  .map((line) => line.trim())
  .filter((line) => line && line !== String(major));
for (const line of otherLines) {
  runVitest(`tests on Node ${line}`, ['scripts/with-node.sh', line], RUNTIME_SUITES);
}

if (failures.length) console.log(`\nFailed: ${failures.join(', ')}`);
const skipped = results.skipped ? `, ${results.skipped} skipped` : '';
console.log(`\n${results.passed} passed, ${results.failed} failed${skipped}`);
process.exit(results.failed === 0 ? 0 : 1);
