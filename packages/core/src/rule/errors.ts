import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A rule file could not be read or is invalid. `errors` holds one line per problem, worded as
 * `promtool check rules` words them (`5:11: group "g", rule 1, "r": could not parse expression: …`);
 * the message joins them, each prefixed by the file.
 */
export class RuleFileError extends ThanosError {
  constructor(
    readonly file: string,
    readonly errors: readonly string[],
    options?: ErrorOptions,
  ) {
    super('CORE_RULE_FILE', errors.map((e) => `${file}: ${e}`).join('\n'), options);
    this.name = 'RuleFileError';
  }
}

/** A template (alert label or annotation) could not be parsed; the message is Go's text/template one. */
export class TemplateParseError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORE_RULE_TEMPLATE_PARSE', message, options);
    this.name = 'TemplateParseError';
  }
}

/** A template failed while rendering (bad argument to a function, failed query, …). */
export class TemplateExecError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORE_RULE_TEMPLATE_EXEC', message, options);
    this.name = 'TemplateExecError';
  }
}

/** A rule's evaluation failed: its query, or its result (duplicate label sets, a limit). */
export class RuleEvalError extends ThanosError {
  constructor(
    readonly rule: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super('CORE_RULE_EVAL', message, options);
    this.name = 'RuleEvalError';
  }
}

/** The remote query API answered with an error or could not be reached. */
export class RuleQueryError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORE_RULE_QUERY', message, options);
    this.name = 'RuleQueryError';
  }
}

/** Sending alerts to an Alertmanager failed (status, timeout, unreachable). */
export class AlertmanagerSendError extends ThanosError {
  constructor(
    readonly url: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super('CORE_RULE_ALERTMANAGER_SEND', `send alerts to ${url}: ${message}`, options);
    this.name = 'AlertmanagerSendError';
  }
}

/** A ruler configuration (--query.config, --alertmanagers.config, --alert.relabel-config, addresses) is invalid. */
export class RuleConfigError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORE_RULE_CONFIG', message, options);
    this.name = 'RuleConfigError';
  }
}
