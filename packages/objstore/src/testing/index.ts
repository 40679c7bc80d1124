/**
 * @thanos-ts/objstore/testing: the Bucket contract suite every implementation passes (vitest).
 *
 * Import it only from tests: it registers vitest `describe`/`it` blocks when called.
 */
export { type BucketSetup, type BucketUnderTest, describeBucket, type ServerQuirks } from './bucket-suite.js';
