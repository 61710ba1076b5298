export { storeConformance, type StoreFactory } from './store-conformance.js';
export { documentLogConformance, documentLogContract, type ConformanceFactory } from './document-log-conformance.js';
