/**
 * @thanos-ts/core/testing: the StoreAPI contract suite every data holder passes (vitest), with
 * the fixture it loads. Import it only from tests: `describeStoreAPI` registers vitest blocks.
 */
export { type FixtureSeries, STORE_API_FIXTURE, type StoreAPIFixture } from './fixture.js';
export {
  type DescribeStoreAPIOptions,
  describeStoreAPI,
  type StoreAPICapabilities,
  type StoreAPISetup,
  type StoreAPIUnderTest,
} from './store-api-suite.js';
