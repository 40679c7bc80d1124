import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A web config file (--http.config, Prometheus exporter-toolkit format) that cannot be used: bad
 * YAML, an unknown field, a missing key file, a bad bcrypt hash. The message is exporter-toolkit's
 * where it has one, prefixed with the file.
 */
export class WebConfigError extends ThanosError {
  constructor(where: string, detail: string, options?: ErrorOptions) {
    super('CORE_WEB_CONFIG', `${where}: ${detail}`, options);
  }
}

/**
 * A request logging config (--request.logging-config, Thanos's pkg/logging YAML) that cannot be
 * used. The message is Thanos's where it has one.
 */
export class RequestLoggingConfigError extends ThanosError {
  constructor(where: string, detail: string, options?: ErrorOptions) {
    super('CORE_REQUEST_LOGGING_CONFIG', `${where}: ${detail}`, options);
  }
}
