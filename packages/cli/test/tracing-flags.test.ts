import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, httpOk, makeTempDir, waitFor } from '@thanos-ts/testing';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { startOTLPHttpReceiver } from '../../core/test/otlp-receiver.js';
import { defineQueryCommand, parseQueryFlags, type QueryFlags } from '../src/commands/query.js';
import { shutdownTracing, tracingConfigText } from '../src/flags/tracing.js';
import { buildProgram } from '../src/program.js';

function queryFlags(argv: string[]): QueryFlags {
  const cmd = defineQueryCommand().exitOverride();
  const program = new Command().exitOverride().addCommand(cmd);
  let parsed: QueryFlags | undefined;
  cmd.action((o: QueryFlags) => {
    parsed = o;
  });
  program.parse(['node', 'thanos-ts', 'query', ...argv]);
  return parsed as QueryFlags;
}

const OTLP = 'type: OTLP\nconfig:\n  client_type: http\n  endpoint: 127.0.0.1:1\n  insecure: true\n';

afterAll(() => shutdownTracing());

describe('--tracing.config and --tracing.config-file', () => {
  it.each(['query', 'store', 'sidecar', 'receive', 'rule', 'compact', 'query-frontend'])(
    '%s has both flags',
    (name) => {
      const cmd = buildProgram().commands.find((c) => c.name() === name);
      expect(cmd, name).toBeDefined();
      const flags = cmd?.options.map((o) => o.long) ?? [];
      expect(flags).toContain('--tracing.config');
      expect(flags).toContain('--tracing.config-file');
    },
  );

  it('no flag: no tracer, the component keeps its no-op default', () => {
    expect(parseQueryFlags(queryFlags([])).tracer).toBeUndefined();
  });

  it('an OTLP config gives the component a tracer', () => {
    expect(parseQueryFlags(queryFlags([`--tracing.config=${OTLP}`])).tracer).toBeDefined();
  });

  it('reads --tracing.config-file', async () => {
    const dir = await makeTempDir('tracing-flags-');
    const file = join(dir, 'tracing.yml');
    await writeFile(file, OTLP);
    expect(tracingConfigText({ 'tracing.configFile': file })?.text).toBe(OTLP);
    expect(parseQueryFlags(queryFlags([`--tracing.config-file=${file}`])).tracer).toBeDefined();
  });

  it.each([
    {
      name: 'both flags',
      argv: ['--tracing.config=type: OTLP', '--tracing.config-file=/x.yml'],
      error: 'both --tracing.config-file and --tracing.config flags set.',
    },
    { name: 'a missing file', argv: ['--tracing.config-file=/nonexistent/t.yml'], error: '--tracing.config-file' },
    {
      name: 'invalid YAML',
      argv: ['--tracing.config=type: [OTLP'],
      error: '--tracing.config: parsing config tracing YAML',
    },
    {
      name: 'an unknown top-level field',
      argv: ['--tracing.config=type: OTLP\nconfg: {}'],
      error: '--tracing.config: field confg not found',
    },
    {
      name: 'an unknown OTLP field',
      argv: ['--tracing.config=type: OTLP\nconfig:\n  endpont: x:1'],
      error: '--tracing.config: config: field endpont not found',
    },
    {
      name: 'an unknown type',
      argv: ['--tracing.config=type: ZIPKIN'],
      error: '--tracing.config: tracing with type ZIPKIN is not supported',
    },
    {
      name: 'a bad client_type',
      argv: ['--tracing.config=type: OTLP\nconfig:\n  client_type: udp'],
      error: "otlp: invalid client type. Only 'http' and 'grpc' are accepted.",
    },
    {
      name: 'a bad duration',
      argv: ['--tracing.config=type: OTLP\nconfig:\n  timeout: soon'],
      error: '--tracing.config: config: timeout: invalid duration "soon"',
    },
  ])('refuses $name, naming the flag', ({ argv, error }) => {
    expect(() => parseQueryFlags(queryFlags(argv))).toThrow(error);
  });

  it.each(['STACKDRIVER', 'ELASTIC_APM', 'LIGHTSTEP', 'DATADOG', 'GOOGLE_CLOUD', 'jaeger'])(
    'accepts %s (no export, a warning)',
    (type) => {
      expect(parseQueryFlags(queryFlags([`--tracing.config=type: ${type}\nconfig:\n  service_name: q`])).tracer).toBe(
        undefined,
      );
    },
  );
});

describe('thanos-ts query --tracing.config, as a process', () => {
  it('exports the spans of a query, the last ones at SIGTERM', async () => {
    const receiver = await startOTLPHttpReceiver();
    const http = await freePort();
    const grpc = await freePort();
    const config = `type: OTLP\nconfig:\n  client_type: http\n  endpoint: ${receiver.endpoint}\n  insecure: true\n  sampler_type: alwayssample\n`;
    // Logs go to stderr, so readiness is polled rather than read from stdout (startCli's way).
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'query',
        `--http-address=127.0.0.1:${http}`,
        `--grpc-address=127.0.0.1:${grpc}`,
        `--tracing.config=${config}`,
        '--http-grace-period=0s',
        '--grpc-grace-period=0s',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('querier ready', () => httpOk(`http://127.0.0.1:${http}/-/ready`), 110_000);
      const res = await fetch(`http://127.0.0.1:${http}/api/v1/query?query=vector(1)&time=10`);
      expect(res.status).toBe(200);
      const traceId = res.headers.get('x-thanos-trace-id');
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      // The batch processor would wait 5 s; the flush at shutdown sends them now.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const names = receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name);
      expect(names).toContain('/query HTTP[server]');
      expect(names).toContain('instant_query_exec');
      expect(new Set(receiver.spans.map((s) => s.service))).toEqual(new Set(['thanos-query']));
      expect(stderr).toMatch(/msg="tracing enabled"/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  }, 120_000);
});
