// The suites are part of the package (`@tandem/server/testing`), so third-party stores can run them too.
export { storeConformance, type StoreFactory } from '../../src/testing/store-conformance.js';
export { documentLogConformance } from '../../src/testing/document-log-conformance.js';
