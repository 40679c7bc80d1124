// @thanos-ts/core/query: the querier's parts, for composing a querier differently.
export {
  chainReplicas,
  type DeduplicationFunc,
  dedupPair,
  dedupReplicas,
  isCounterFunc,
  type SampleColumns,
  splitOverlapping,
} from './dedup.js';
// The evaluation worker imports the decoder by this name from the built ./query entry.
export { decodeEncodedStoreSeries } from './encoded-series.js';
export {
  createEndpointSet,
  type EndpointSet,
  type EndpointSetOptions,
  type EndpointStatus,
  type NamedStore,
} from './endpoint-set.js';
export type {
  EngineQueryOptions,
  EngineResult,
  EngineSample,
  EngineSeries,
  EngineValue,
  QueryEngine,
} from './engine.js';
export {
  createProxyStore,
  labelSetsMatch,
  NO_STORES_AVAILABLE,
  NO_STORES_MATCHED,
  noStoresMatchedWarning,
  type ProxyEndpoint,
  type ProxyStoreOptions,
  type StoreCandidate,
  type StoreExclusion,
  type StoreSelection,
  selectStores,
  storeMatches,
} from './proxy.js';
export { createQuerier, type Querier, type QuerierOptions } from './querier.js';
export {
  createQueryCore,
  type QueryCore,
  type QueryCoreOptions,
  type QueryOptions,
  type QueryResponse,
  type QueryStats,
} from './query-core.js';
export { createStoreQueryable, type StoreQueryable, type StoreQueryableOptions } from './queryable.js';
export {
  alertsJSON,
  createRulesFanout,
  localRulesEndpoint,
  mergeRuleGroups,
  type RulesEndpoint,
  type RulesFanout,
  type RulesFanoutOptions,
  type RulesFanoutResult,
  ruleGroupsJSON,
} from './rules-fanout.js';
