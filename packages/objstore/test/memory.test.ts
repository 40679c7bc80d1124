import { createMemoryBucket } from '../src/index.js';
import { bucketBehaviourSuite } from './bucket-suite.js';

bucketBehaviourSuite('in-memory', async () => ({ bucket: createMemoryBucket(), cleanup: async () => {} }));
