#!/usr/bin/env node
// Runs the compiled CLI. In this repository `npm start` builds it first (`npm run build`).
try {
  await import('../dist/cli.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    console.error('tandem: the server is not built; run `npm run build` in the repository first');
    process.exit(2);
  }
  throw err;
}
