#!/usr/bin/env node
// Runs the compiled CLI. In this repository `npm start` builds it first (`npm run build`).

// Checked before anything loads: older lines lack the built-in SQLite driver, and would otherwise fail
// with an unexplained "No such built-in module: node:sqlite".
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  console.error(
    `tandem: Node.js ${process.versions.node} is not supported; install Node.js 22.13 or newer ` +
      '(the 22, 24 or 26 LTS lines; 24 recommended)',
  );
  process.exit(2);
}
if (major % 2 === 1) {
  console.error(`tandem: Node.js ${major} is not an LTS line; Tandem is tested on 22, 24 and 26`);
}
// Node 22 flags node:sqlite as experimental on every start; the store relies only on its stable core
// (prepared statements, exec, user functions), which is the same on 24 and 26 where the warning is gone.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' && String(warning).startsWith('SQLite')) return;
  return emitWarning.call(process, warning, ...rest);
};

try {
  await import('../dist/cli.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    console.error('tandem: the server is not built; run `npm run build` in the repository first');
    process.exit(2);
  }
  throw err;
}
