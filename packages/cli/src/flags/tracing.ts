import { readFileSync } from 'node:fs';
import type { ComponentOptions, Logger } from '@thanos-ts/core';
import { createTracing, type Tracing } from '@thanos-ts/core/tracing';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type LogFlags, loggerFromFlags } from './log.js';

/** Raw values of the tracing flags, as commander stores them. */
export interface TracingFlags {
  'tracing.configFile'?: string;
  'tracing.config'?: string;
  /** Set by {@link addTracingFlags} from the command's name; the default `service.name`. */
  'tracing.serviceName'?: string;
}

/**
 * Tracing set up by commands of this process, flushed by {@link shutdownTracing} when the
 * command's component has closed (runUntilSignal). The CLI owns the process, so one list is fine.
 */
const started: Tracing[] = [];

/**
 * Adds Thanos's `--tracing.config-file` and `--tracing.config` (mutually exclusive; neither: no
 * tracing). Every long-running component gets them through `addServingFlags`.
 */
export function addTracingFlags(cmd: Command): Command {
  cmd.addOption(
    new Option(
      '--tracing.config-file <file-path>',
      'Path to YAML file with tracing configuration. See format details: docs/tracing.md',
    ),
  );
  cmd.addOption(
    new Option(
      '--tracing.config <content>',
      "Alternative to 'tracing.config-file' flag (mutually exclusive). Content of YAML file with tracing configuration. See format details: docs/tracing.md",
    ),
  );
  // Thanos leaves service.name to the config; thanos-ts defaults it to the component so traces
  // from several components are told apart without configuring each.
  cmd.hook('preAction', (_cmd, action) => {
    if (action.getOptionValue('tracing.serviceName') === undefined)
      action.setOptionValue('tracing.serviceName', `thanos-${action.name()}`);
  });
  return cmd;
}

/** The tracing YAML the flags give (file or inline), or undefined; errors name the flag. */
export function tracingConfigText(o: TracingFlags): { text: string; flag: string } | undefined {
  const file = o['tracing.configFile'];
  const inline = o['tracing.config'];
  if (file !== undefined && inline !== undefined)
    // Thanos's extflag.PathOrContent wording.
    throw new InvalidArgumentError('both --tracing.config-file and --tracing.config flags set.');
  if (inline !== undefined) return inline.trim() === '' ? undefined : { text: inline, flag: '--tracing.config' };
  if (file === undefined || file === '') return undefined;
  try {
    return { text: readFileSync(file, 'utf8'), flag: `--tracing.config-file ${file}` };
  } catch (err) {
    throw new InvalidArgumentError(
      `--tracing.config-file: loading YAML file ${file} for tracing.config-file: ${(err as Error).message}`,
    );
  }
}

/**
 * The tracer the tracing flags configure (undefined when none is given, so the component keeps
 * its no-cost default). Warnings (unsupported provider, JAEGER without endpoint) go to the
 * component's logger built from the log flags. The set-up is flushed by {@link shutdownTracing}.
 */
export function tracerFromFlags(o: TracingFlags & Partial<LogFlags>): ComponentOptions['tracer'] {
  const given = tracingConfigText(o);
  if (!given) return undefined;
  const service = o['tracing.serviceName'] ?? 'thanos-ts';
  const tracing = createTracing(given.text, {
    logger: logger(o, service.replace(/^thanos-/, '')),
    serviceName: service,
    flag: given.flag,
  });
  if (!tracing.enabled) return undefined;
  started.push(tracing);
  return tracing.tracer;
}

function logger(o: Partial<LogFlags>, component: string): Logger | undefined {
  if (o['log.level'] === undefined || o['log.format'] === undefined) return undefined;
  return loggerFromFlags(o as LogFlags, component);
}

/** Exports the spans still buffered by every tracer the flags set up, each bounded (5 s). */
export async function shutdownTracing(): Promise<void> {
  const all = started.splice(0);
  await Promise.all(all.map((t) => t.shutdown()));
}
