// The suites are part of the package (`@tandem/server/testing`), so third-party stores can run them too.
export * from '../../src/testing/index.js';
