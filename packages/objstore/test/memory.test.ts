import { describeBucket } from '@thanos-ts/objstore/testing';
import { createMemoryBucket } from '../src/index.js';

describeBucket('in-memory', async () => ({ bucket: createMemoryBucket(), close: async () => {} }));
