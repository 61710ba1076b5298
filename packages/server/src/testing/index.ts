export { storeConformance, type StoreFactory } from './store-conformance.js';
export { portConformance, type ConformanceFactory } from './port-conformance.js';
export { documentLogConformance, documentLogContract } from './document-log-conformance.js';
export {
  collaboratorStoreContract,
  eventFeedContract,
  eventLogContract,
  revisionStoreContract,
  roomListingContract,
} from './room-data-conformance.js';
