import { MemoryStore } from '../src/storage/memory/memory-store.js';
import { documentLogConformance, storeConformance } from './support/store-conformance.js';

storeConformance('MemoryStore', { create: () => new MemoryStore() });

// The document log alone: what a store that keeps only the Yjs log would run.
documentLogConformance('MemoryStore as a DocumentLog', { create: () => new MemoryStore() });
