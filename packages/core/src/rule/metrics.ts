import { Counter, Gauge, type Registry } from 'prom-client';

/** The ruler's metrics: Prometheus's rule manager names, Thanos's alert sender names. */
export interface RuleMetrics {
  evaluations: Counter<'rule_group'>;
  evaluationFailures: Counter<'rule_group'>;
  iterations: Counter<'rule_group'>;
  iterationsMissed: Counter<'rule_group'>;
  interval: Gauge<'rule_group'>;
  lastDuration: Gauge<'rule_group'>;
  lastEvaluation: Gauge<'rule_group'>;
  rules: Gauge<'rule_group'>;
  alertsSent: Counter<'alertmanager'>;
  alertSendErrors: Counter<'alertmanager'>;
  alertsDropped: Counter;
  configLastReloadSuccessful: Gauge;
  configLastReloadSuccessTimestamp: Gauge;
  /** 1 while evaluations keep failing (the ruler reports not ready). */
  evaluationsFailing: Gauge;
}

/** Registers the ruler's metrics on `registry`. */
export function createRuleMetrics(registry: Registry): RuleMetrics {
  const c = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const g = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  return {
    evaluations: c('prometheus_rule_evaluations_total', 'The total number of rule evaluations.', ['rule_group']),
    evaluationFailures: c(
      'prometheus_rule_evaluation_failures_total',
      'The total number of rule evaluation failures.',
      ['rule_group'],
    ),
    iterations: c(
      'prometheus_rule_group_iterations_total',
      'The total number of scheduled rule group evaluations, whether executed or missed.',
      ['rule_group'],
    ),
    iterationsMissed: c(
      'prometheus_rule_group_iterations_missed_total',
      'The total number of rule group evaluations missed due to slow rule group evaluation.',
      ['rule_group'],
    ),
    interval: g('prometheus_rule_group_interval_seconds', 'The interval of a rule group.', ['rule_group']),
    lastDuration: g('prometheus_rule_group_last_duration_seconds', 'The duration of the last rule group evaluation.', [
      'rule_group',
    ]),
    lastEvaluation: g(
      'prometheus_rule_group_last_evaluation_timestamp_seconds',
      'The timestamp of the last rule group evaluation in seconds.',
      ['rule_group'],
    ),
    rules: g('prometheus_rule_group_rules', 'The number of rules.', ['rule_group']),
    alertsSent: c('thanos_alert_sender_alerts_sent_total', 'Total number of alerts sent by alertmanager.', [
      'alertmanager',
    ]),
    alertSendErrors: c(
      'thanos_alert_sender_errors_total',
      'Total number of errors while sending alerts to alertmanager.',
      ['alertmanager'],
    ),
    alertsDropped: new Counter({
      name: 'thanos_alert_sender_alerts_dropped_total',
      help: 'Total number of alerts dropped in case of all sends to alertmanagers failed.',
      registers: [registry],
    }),
    configLastReloadSuccessful: new Gauge({
      name: 'thanos_rule_config_last_reload_successful',
      help: 'Whether the last configuration reload attempt was successful.',
      registers: [registry],
    }),
    configLastReloadSuccessTimestamp: new Gauge({
      name: 'thanos_rule_config_last_reload_success_timestamp_seconds',
      help: 'Timestamp of the last successful configuration reload.',
      registers: [registry],
    }),
    evaluationsFailing: new Gauge({
      name: 'thanos_rule_evaluations_failing',
      help: '1 while every rule evaluation of the last consecutive rounds failed (the ruler reports not ready).',
      registers: [registry],
    }),
  };
}
