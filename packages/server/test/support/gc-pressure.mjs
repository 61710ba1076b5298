/* global setInterval */
// Preloaded into a child server (`node --expose-gc --import …/gc-pressure.mjs`): full collections every
// few milliseconds, so whatever the collector finalises (a native driver's statement handles, say) is
// finalised while the server is busy — which is when a driver that is unsafe under GC aborts.
if (typeof globalThis.gc !== 'function') throw new Error('gc-pressure.mjs needs node --expose-gc');
const everyMs = Number(process.env.TANDEM_TEST_GC_EVERY_MS ?? 5);
setInterval(() => globalThis.gc(), everyMs).unref();
