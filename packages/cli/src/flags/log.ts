import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from '@thanos-ts/core';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** Parsed values of the logging flags every component has. */
export interface LogFlags {
  'log.level': string;
  'log.format': string;
}

/** Adds Thanos's `--log.level` and `--log.format` to a component command. */
export function addLogFlags(cmd: Command): Command {
  cmd.addOption(new Option('--log.level <level>', 'Log filtering level: debug, info, warn, error.').default('info'));
  cmd.addOption(new Option('--log.format <format>', 'Log format to use: logfmt, json.').default('logfmt'));
  return cmd;
}

/**
 * The component's logger from `--log.level`/`--log.format`; a bad value names its flag. Lines go
 * to stderr unless `write` is given (tests capture them).
 */
export function loggerFromFlags(o: LogFlags, component: string, write?: (line: string) => void): Logger {
  const level = o['log.level'] as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new InvalidArgumentError(`--log.level: want ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(o['log.level'])}`);
  const format = o['log.format'] as LogFormat;
  if (!LOG_FORMATS.includes(format))
    throw new InvalidArgumentError(
      `--log.format: want ${LOG_FORMATS.join(' or ')}, got ${JSON.stringify(o['log.format'])}`,
    );
  return createLogger({ level, format, component, ...(write ? { write } : {}) });
}
