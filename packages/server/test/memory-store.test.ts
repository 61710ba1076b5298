import { MemoryStore } from '../src/storage/memory/memory-store.js';
import {
  collaboratorStoreContract,
  documentLogContract,
  eventFeedContract,
  eventLogContract,
  portConformance,
  revisionStoreContract,
  roomListingContract,
  storeConformance,
} from './support/store-conformance.js';

storeConformance('MemoryStore', { create: () => new MemoryStore() });

// Each port alone, as a backend that implements only that concern would run it.
const create = { create: () => new MemoryStore() };
portConformance('MemoryStore as a DocumentLog', create, documentLogContract);
portConformance('MemoryStore as a CollaboratorStore', create, collaboratorStoreContract);
portConformance('MemoryStore as a RoomListing', create, roomListingContract);
portConformance('MemoryStore as an EventLog', create, eventLogContract);
portConformance('MemoryStore as an EventFeed', create, eventFeedContract);
portConformance('MemoryStore as a RevisionStore', create, revisionStoreContract);
