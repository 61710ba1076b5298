import { MemoryStore } from '../src/storage/memory/memory-store.js';
import { storeConformance } from './support/store-conformance.js';

storeConformance('MemoryStore', { create: () => new MemoryStore() });
