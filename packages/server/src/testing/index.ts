export { storeConformance, type StoreFactory } from './store-conformance.js';
