// Preloaded into every server under test (`node --expose-gc --require …`): SIGUSR2 runs a full garbage
// collection, so memory is sampled after the same collection in every server rather than wherever
// each one's GC happened to be.
if (typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    global.gc();
    global.gc();
  });
}
