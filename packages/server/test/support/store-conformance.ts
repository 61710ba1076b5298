// The suite is part of the package (`@tandem/server/testing`), so third-party stores can run it too.
export { storeConformance, type StoreFactory } from '../../src/testing/store-conformance.js';
