// @thanos-ts/core/rule: the ruler (Thanos's `rule`), rule files, alert templates.
export { createRulesAPIHandler, goRFC3339 } from './api.js';
export {
  type AlertmanagerAPIVersion,
  type AlertmanagerEndpointConfig,
  buildAlertmanagerConfig,
  buildQueryConfigFromAddresses,
  type ClientTLSConfig,
  createEndpointGroup,
  createHTTPClient,
  type EndpointGroup,
  type EndpointGroupOptions,
  type FileSDSource,
  type HTTPClient,
  type HTTPClientConfig,
  type HTTPEndpointsConfig,
  type HTTPRequestOptions,
  type HTTPResponse,
  parseAlertingConfig,
  parseQueryConfig,
  type QueryEndpointConfig,
} from './clients.js';
export {
  AlertmanagerSendError,
  RuleConfigError,
  RuleEvalError,
  RuleFileError,
  RuleQueryError,
  TemplateExecError,
  TemplateParseError,
} from './errors.js';
export { type GroupDeps, groupHash, groupOffsetMs, RuleGroup, type SampleAppender } from './group.js';
export { createRuleMetrics, type RuleMetrics } from './metrics.js';
export {
  type AlertmanagerAlert,
  type AlertmanagerSet,
  createNotifier,
  generatorURL,
  type Notifier,
  type NotifierOptions,
  toAlertmanagerAlert,
} from './notifier.js';
export {
  type FailoverQueryFuncOptions,
  failoverQueryFunc,
  failoverRestoreQueryable,
  type HttpQueryFuncOptions,
  httpQueryFunc,
  type QueryEndpointSet,
  querierQueryFunc,
  type RestoreQueryableOptions,
  type RuleQueryFunc,
  type RuleQueryOptions,
  type RuleSample,
} from './query-func.js';
export {
  createRemoteWriter,
  parseRemoteWriteConfig,
  type RemoteWriteConfig,
  type RemoteWriter,
  type RemoteWriterOptions,
} from './remote-write.js';
export {
  parseRuleFile,
  type RuleConfig,
  type RuleGroupConfig,
  type RulePartialResponseStrategy,
  readRuleFile,
} from './rule-file.js';
export { createRuler, expandRuleFiles, type Ruler, type RulerOptions } from './ruler.js';
export {
  type Alert,
  AlertingRule,
  type AlertState,
  type EvalContext,
  newRule,
  type OutputSample,
  RESOLVED_RETENTION_MS,
  RecordingRule,
  type Rule,
  type RuleHealth,
} from './rules.js';
export {
  type ConnectRulesAPIOptions,
  connectRulesAPI,
  type RemoteRulesAPI,
  type RulesAlertInstance,
  type RulesAlertingRule,
  type RulesAlertState,
  type RulesGroup,
  type RulesRecordingRule,
  type RulesRequest,
  type RulesRequestType,
  type RulesResponse,
  type RulesRule,
  ruleGroupFromPb,
  ruleGroupToPb,
  rulerRuleGroups,
  rulesRequestFromPb,
  rulesRequestToPb,
  rulesServiceDefinition,
  serveRulesAPI,
  withRulesInfo,
} from './rules-service.js';
export {
  AlertTemplate,
  formatG,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  sprintf,
  TEMPLATE_FUNCS,
  type TemplateData,
  type TemplateQueryFunc,
  type TemplateSample,
} from './template.js';
