export { storeConformance, type StoreFactory } from './store-conformance.js';
export { documentLogConformance, documentLogContract } from './document-log-conformance.js';
