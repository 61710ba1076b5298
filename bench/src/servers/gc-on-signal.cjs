// Preloaded into every server under test (`node --expose-gc --require …`): SIGUSR2 runs a full garbage
// collection, so memory is sampled after the same collection in every server rather than wherever
// each one's GC happened to be.
// With BENCH_HEAP_FILE set it then writes the live JS heap there: RSS also counts allocator slack and
// the heap's free pages, which move by a KB per connection from run to run.
const { writeFileSync } = require('node:fs');

if (typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    global.gc();
    global.gc();
    const file = process.env.BENCH_HEAP_FILE;
    if (file) writeFileSync(file, JSON.stringify({ heapUsed: process.memoryUsage().heapUsed }));
  });
}
