import { readFile } from 'node:fs/promises';
import { parseBytes } from '@thanos-ts/core/cache';
import {
  createReceiver,
  DEFAULT_REPLICA_HEADER,
  DEFAULT_TENANT_HEADER,
  DEFAULT_TENANT_ID,
  DEFAULT_TENANT_LABEL,
  HASHRING_ALGORITHMS,
  type HashringAlgorithm,
  nodeCipherList,
  nodeCurveList,
  parseHashringsConfig,
  parseLimitsConfig,
  type ReceiverOptions,
  TENANT_CERTIFICATE_FIELDS,
  type TenantCertificateField,
  TLS_VERSIONS,
  type TLSVersion,
} from '@thanos-ts/core/receive';
import { parseRelabelConfig } from '@thanos-ts/core/store';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { collect, durationFlag, intFlag, listenAddressFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';
import { parseLabelFlags } from './rule.js';

/** Raw values of `thanos-ts receive` flags as commander stores them. */
export interface ReceiveFlags extends ObjstoreFlags, ServingFlags, LogFlags {
  'remoteWrite.address': string;
  'store.limits.requestSeries': string;
  'store.limits.requestSamples': string;
  'remoteWrite.clientTlsCert'?: string;
  'remoteWrite.clientTlsKey'?: string;
  'remoteWrite.clientTlsCa'?: string;
  'remoteWrite.clientServerName'?: string;
  'remoteWrite.clientTlsSecure'?: boolean;
  'remoteWrite.clientTlsSkipVerify'?: boolean;
  'remoteWrite.serverTlsCert'?: string;
  'remoteWrite.serverTlsKey'?: string;
  'remoteWrite.serverTlsClientCa'?: string;
  'remoteWrite.serverTlsMinVersion': string;
  'remoteWrite.serverTlsCiphers': string[];
  'remoteWrite.serverTlsCurves': string[];
  'remoteWrite.clientTlsMinVersion': string;
  'receive.tenantCertificateField': string;
  'tsdb.memorySnapshotOnShutdown': boolean;
  'tsdb.path': string;
  'tsdb.retention': string;
  'tsdb.outOfOrder.timeWindow': string;
  'tsdb.tooFarInFuture.timeWindow': string;
  label: string[];
  'receive.hashringsFile'?: string;
  'receive.hashrings'?: string;
  'receive.hashringsAlgorithm': string;
  'receive.hashringsFileRefreshInterval': string;
  'receive.localEndpoint'?: string;
  'receive.tenantHeader': string;
  'receive.defaultTenantId': string;
  'receive.tenantLabelName': string;
  'receive.replicaHeader': string;
  'receive.replicationFactor': string;
  'receive.limitsConfigFile'?: string;
  'receive.limitsConfig'?: string;
  'receive.relabelConfigFile'?: string;
  'receive.relabelConfig'?: string;
  'receive.splitTenantLabelName': string;
  'receive.otlpEnableTargetInfo': boolean;
  'receive.otlpPromoteResourceAttributes': string[];
  'receive.memoryLimit': string;
  receiveForwardTimeout: string;
}

/** Options no flag sets: the bucket (from --objstore.*) and in-process objects. */
type NotReceiveFlags = 'bucket' | 'logger' | 'registry' | 'now';

/** Everything `thanos-ts receive` resolved from its flags: createReceiver's options but the bucket. */
export type ReceiveCommandConfig = Omit<ReceiverOptions, NotReceiveFlags> & {
  /** Whether --objstore.config(-file) was given (uploads on). */
  uploads: boolean;
};

async function fileOrInline(file: string | undefined, inline: string | undefined, flag: string) {
  if (file !== undefined && inline !== undefined)
    throw new InvalidArgumentError(`--${flag}-file and --${flag} are mutually exclusive; set only one`);
  if (file === undefined) return inline;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`--${flag}-file: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Validates the flags and builds the receiver's options; errors name the flag. */
export async function parseReceiveFlags(o: ReceiveFlags): Promise<ReceiveCommandConfig> {
  const algorithm = o['receive.hashringsAlgorithm'];
  if (!HASHRING_ALGORITHMS.includes(algorithm as HashringAlgorithm))
    throw new InvalidArgumentError(
      `--receive.hashrings-algorithm: want one of ${HASHRING_ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`,
    );
  const hashringsFile = o['receive.hashringsFile'];
  // The file is read (and re-read) by the receiver; inline content is parsed here.
  let hashrings: ReceiverOptions['hashrings'];
  if (hashringsFile === undefined && o['receive.hashrings'] !== undefined)
    hashrings = parseHashringsConfig(o['receive.hashrings'], '--receive.hashrings');
  const limitsText = await fileOrInline(
    o['receive.limitsConfigFile'],
    o['receive.limitsConfig'],
    'receive.limits-config',
  );
  const relabelText = await fileOrInline(
    o['receive.relabelConfigFile'],
    o['receive.relabelConfig'],
    'receive.relabel-config',
  );
  const minVersion = o['remoteWrite.serverTlsMinVersion'];
  if (!TLS_VERSIONS.includes(minVersion as TLSVersion))
    throw new InvalidArgumentError(
      `--remote-write.server-tls-min-version: want one of ${TLS_VERSIONS.join(', ')}, got ${JSON.stringify(minVersion)}`,
    );
  const clientMinVersion = o['remoteWrite.clientTlsMinVersion'];
  if (!TLS_VERSIONS.includes(clientMinVersion as TLSVersion))
    throw new InvalidArgumentError(
      `--remote-write.client-tls-min-version: want one of ${TLS_VERSIONS.join(', ')}, got ${JSON.stringify(clientMinVersion)}`,
    );
  const ciphers = (o['remoteWrite.serverTlsCiphers'] ?? []).filter((c) => c !== '');
  const curves = (o['remoteWrite.serverTlsCurves'] ?? []).filter((c) => c !== '');
  // Unknown names fail here, naming the flag (Thanos: `invalid cipher suite: X, valid values are …`).
  nodeCipherList(ciphers, '--remote-write.server-tls-ciphers');
  nodeCurveList(curves, '--remote-write.server-tls-curves');
  const certField = o['receive.tenantCertificateField'] ?? '';
  if (certField !== '' && !TENANT_CERTIFICATE_FIELDS.includes(certField as TenantCertificateField))
    throw new InvalidArgumentError(
      `--receive.tenant-certificate-field: must be one of ${TENANT_CERTIFICATE_FIELDS.join(', ')}, got ${JSON.stringify(certField)}`,
    );
  const serverCert = o['remoteWrite.serverTlsCert'] ?? '';
  const serverKey = o['remoteWrite.serverTlsKey'] ?? '';
  // As Thanos's tls.NewServerConfig: no certificate and key means plain HTTP; one without the other is an error.
  const serverCA = o['remoteWrite.serverTlsClientCa'] ?? '';
  if (serverCert === '' && serverKey === '' && serverCA !== '')
    throw new InvalidArgumentError(
      '--remote-write.server-tls-client-ca: when a client CA is used a server key and certificate must also be provided',
    );
  if ((serverCert === '') !== (serverKey === ''))
    throw new InvalidArgumentError(
      '--remote-write.server-tls-cert/--remote-write.server-tls-key: both server key and certificate must be provided',
    );
  const secure = o['remoteWrite.clientTlsSecure'] === true;
  const rf = intFlag(o['receive.replicationFactor'], 'receive.replication-factor', 1);
  const flags: FlagsFor<ReceiverOptions, NotReceiveFlags> = {
    ...servingFromFlags(o),
    tsdbPath: o['tsdb.path'],
    remoteWriteAddress: listenAddressFlag(o['remoteWrite.address'], 'remote-write.address'),
    externalLabels: parseLabelFlags(o.label, 'label'),
    storeLimits: {
      seriesPerRequest: intFlag(o['store.limits.requestSeries'], 'store.limits.request-series', 0),
      samplesPerRequest: intFlag(o['store.limits.requestSamples'], 'store.limits.request-samples', 0),
    },
    retentionMs: durationFlag(o['tsdb.retention'], 'tsdb.retention'),
    blockDurationMs: undefined,
    outOfOrderTimeWindowMs: durationFlag(o['tsdb.outOfOrder.timeWindow'], 'tsdb.out-of-order.time-window'),
    tooFarInFutureMs: durationFlag(o['tsdb.tooFarInFuture.timeWindow'], 'tsdb.too-far-in-future.time-window'),
    tenantHeader: o['receive.tenantHeader'],
    defaultTenantId: o['receive.defaultTenantId'],
    tenantLabelName: o['receive.tenantLabelName'],
    replicaHeader: o['receive.replicaHeader'],
    hashrings,
    hashringsFile,
    hashringsFileRefreshIntervalMs: durationFlag(
      o['receive.hashringsFileRefreshInterval'],
      'receive.hashrings-file-refresh-interval',
    ),
    hashringsAlgorithm: algorithm as HashringAlgorithm,
    localEndpoint: o['receive.localEndpoint'],
    replicationFactor: rf,
    forwardTimeoutMs: durationFlag(o.receiveForwardTimeout, 'receive-forward-timeout'),
    peerTLS: secure
      ? {
          secure: true,
          ...definedOnly({
            certFile: o['remoteWrite.clientTlsCert'],
            keyFile: o['remoteWrite.clientTlsKey'],
            caFile: o['remoteWrite.clientTlsCa'],
            serverName: o['remoteWrite.clientServerName'],
            skipVerify: o['remoteWrite.clientTlsSkipVerify'] === true ? true : undefined,
          }),
          minVersion: clientMinVersion as TLSVersion,
        }
      : undefined,
    remoteWriteServerTLS:
      serverCert === ''
        ? undefined
        : {
            certFile: serverCert,
            keyFile: serverKey,
            ...(serverCA !== '' ? { clientCAFile: serverCA } : {}),
            minVersion: minVersion as TLSVersion,
            ...(ciphers.length > 0 ? { cipherSuites: ciphers } : {}),
            ...(curves.length > 0 ? { curves } : {}),
          },
    tenantCertificateField: certField === '' ? undefined : (certField as TenantCertificateField),
    memorySnapshotOnShutdown: o['tsdb.memorySnapshotOnShutdown'] === true ? true : undefined,
    relabelConfigs: relabelText ? parseRelabelConfig(relabelText, '--receive.relabel-config') : undefined,
    splitTenantLabelName: o['receive.splitTenantLabelName'] || undefined,
    otlpEnableTargetInfo: o['receive.otlpEnableTargetInfo'],
    otlpPromoteResourceAttributes: (o['receive.otlpPromoteResourceAttributes'] ?? []).filter((a) => a !== ''),
    limits: limitsText === undefined ? undefined : parseLimitsConfig(limitsText),
    maxRequestBytes: undefined,
    memoryLimitBytes: parseBytes(o['receive.memoryLimit'], '--receive.memory-limit'),
    flushIntervalMs: undefined,
  };
  if (flags.tenantLabelName === '') throw new InvalidArgumentError('--receive.tenant-label-name: must not be empty');
  return {
    ...definedOnly(flags),
    tsdbPath: o['tsdb.path'],
    uploads: o['objstore.configFile'] !== undefined || o['objstore.config'] !== undefined,
  };
}

/** Defines the `receive` command and its flags (Thanos's names and defaults). */
export function defineReceiveCommand(): Command {
  const cmd = new Command('receive').description(
    'Accept Prometheus remote write API requests and write to local tsdb.',
  );
  const opt = (flags: string, help: string, dflt?: string | string[] | boolean, repeat = false) => {
    const o = new Option(flags, help);
    if (repeat) o.argParser(collect);
    if (dflt !== undefined) o.default(dflt);
    cmd.addOption(o);
  };
  opt('--remote-write.address <host:port>', 'Address to listen on for remote write requests.', '0.0.0.0:19291');
  opt('--remote-write.client-tls-cert <path>', 'TLS Certificates to use to identify this client to the server.');
  opt('--remote-write.client-tls-key <path>', "TLS Key for the client's certificate.");
  opt('--remote-write.client-tls-ca <path>', 'TLS CA Certificates to use to verify servers.');
  opt(
    '--remote-write.client-server-name <name>',
    'Server name to verify the hostname on the returned TLS certificates.',
  );
  opt('--remote-write.client-tls-secure', 'Use TLS when talking to the other receivers.', false);
  opt(
    '--remote-write.client-tls-skip-verify',
    'Disable TLS certificate verification when talking to the other receivers i.e self signed, signed by fake CA.',
    false,
  );
  opt('--remote-write.server-tls-cert <path>', 'TLS Certificate for HTTP server, leave blank to disable TLS.');
  opt('--remote-write.server-tls-key <path>', 'TLS Key for the HTTP server, leave blank to disable TLS.');
  opt(
    '--remote-write.server-tls-client-ca <path>',
    'TLS CA to verify clients against. If no client CA is specified, there is no client verification on server side. (tls.NoClientCert)',
  );
  opt(
    '--remote-write.server-tls-min-version <version>',
    'TLS version for the HTTP server, leave blank to default to TLS 1.3, Allowed values: ["1.0", "1.1", "1.2", "1.3"]',
    '1.3',
  );
  opt(
    '--remote-write.server-tls-ciphers <name>',
    'TLS cipher suites for the HTTP server (repeatable). If not specified, the default Go cipher suites are used. See https://pkg.go.dev/crypto/tls#pkg-constants for valid values.',
    [],
    true,
  );
  opt(
    '--remote-write.server-tls-curves <name>',
    'TLS curves for the HTTP server (repeatable). If not specified, the default Go curves are used. Valid values: CurveP256, CurveP384, CurveP521, X25519.',
    [],
    true,
  );
  opt(
    '--remote-write.client-tls-min-version <version>',
    'TLS version for the gRPC client, leave blank to default to TLS 1.3, Allowed values: ["1.0", "1.1", "1.2", "1.3"]',
    '1.3',
  );
  opt('--tsdb.path <dir>', 'Data directory of TSDB.', './data');
  opt(
    '--tsdb.memory-snapshot-on-shutdown',
    '[EXPERIMENTAL] Enables feature to snapshot in-memory chunks on shutdown for faster restarts.',
    false,
  );
  opt(
    '--tsdb.retention <duration>',
    'How long to retain raw samples on local storage. 0d - disables the retention policy (i.e. infinite retention).',
    '15d',
  );
  opt(
    '--tsdb.out-of-order.time-window <duration>',
    'Accept out-of-order samples up to this much older than the newest sample of their series (0s: reject them).',
    '0s',
  );
  opt(
    '--tsdb.too-far-in-future.time-window <duration>',
    'Reject samples more than this ahead of the current time (0s: accept any).',
    '0s',
  );
  opt(
    '--label <key="value">',
    'External labels to announce. This flag will be removed in the future when handling multiple tsdb instances is added.',
    [],
    true,
  );
  opt(
    '--receive.hashrings-file <path>',
    'Path to file that contains the hashring configuration. A watcher is initialized to watch changes and update the hashring dynamically.',
  );
  opt(
    '--receive.hashrings <json>',
    "Alternative to 'receive.hashrings-file' flag (lower priority). Content of file that contains the hashring configuration.",
  );
  opt(
    '--receive.hashrings-algorithm <algorithm>',
    'The algorithm used when distributing series in the hashrings. Must be one of hashmod, ketama. Will be overwritten by the tenant-specific algorithm in the hashring config.',
    'hashmod',
  );
  opt(
    '--receive.hashrings-file-refresh-interval <duration>',
    'Refresh interval to re-read the hashring configuration file. (used as a fallback)',
    '5m',
  );
  opt(
    '--receive.local-endpoint <host:port>',
    "Endpoint of local receive node. Used to identify the local node in the hashring configuration. If it's empty AND hashring configuration was provided, it means that receive will run in RoutingOnly mode.",
  );
  opt('--receive.tenant-header <name>', 'HTTP header to determine tenant for write requests.', DEFAULT_TENANT_HEADER);
  opt(
    '--receive.tenant-certificate-field <field>',
    "Use TLS client's certificate field to determine tenant for write requests. Must be one of organization, organizationalUnit or commonName. This setting will cause the receive.tenant-header flag value to be ignored.",
    '',
  );
  opt(
    '--receive.default-tenant-id <id>',
    'Default tenant ID to use when none is provided via a header.',
    DEFAULT_TENANT_ID,
  );
  // Thanos's SeriesSelectLimits flags (pkg/store/limiter.go), as the store gateway has them.
  opt(
    '--store.limits.request-series <n>',
    'The maximum series allowed for a single Series request. The Series call fails if this limit is exceeded. 0 means no limit.',
    '0',
  );
  opt(
    '--store.limits.request-samples <n>',
    "The maximum samples allowed for a single Series request, The Series call fails if this limit is exceeded. 0 means no limit. NOTE: For efficiency the limit is internally implemented as 'chunks limit' considering each chunk contains a maximum of 120 samples.",
    '0',
  );
  opt(
    '--receive.tenant-label-name <name>',
    'Label name through which the tenant will be announced.',
    DEFAULT_TENANT_LABEL,
  );
  opt(
    '--receive.replica-header <name>',
    'HTTP header specifying the replica number of a write request.',
    DEFAULT_REPLICA_HEADER,
  );
  opt('--receive.replication-factor <n>', 'How many times to replicate incoming write requests.', '1');
  opt('--receive.limits-config-file <path>', 'YAML file that contains limit configuration.');
  opt('--receive.limits-config <yaml>', "Alternative to 'receive.limits-config-file' flag (mutually exclusive).");
  opt('--receive.relabel-config-file <path>', 'Path to YAML file that contains relabeling configuration.');
  opt(
    '--receive.relabel-config <yaml>',
    "Alternative to 'receive.relabel-config-file' flag (mutually exclusive). Content of YAML file that contains relabeling configuration.",
  );
  opt(
    '--receive.split-tenant-label-name <name>',
    'Label name through which the request will be split into multiple tenants. This takes precedence over the HTTP header.',
    '',
  );
  opt(
    '--receive.otlp-enable-target-info',
    'Enables target information in OTLP metrics ingested by Receive. If enabled, it converts the resource to the target info metric',
    true,
  );
  opt('--no-receive.otlp-enable-target-info', 'Do not write target_info for OTLP resources.');
  opt(
    '--receive.otlp-promote-resource-attributes <name>',
    '(Repeatable) Resource attributes to include in OTLP metrics ingested by Receive.',
    [],
    true,
  );
  opt('--receive-forward-timeout <duration>', 'Timeout for each forward request.', '5s');
  opt(
    '--receive.memory-limit <bytes>',
    'thanos-ts: shed remote writes with 429 while the resident memory is above this (e.g. 4GiB; 0: no limit).',
    '0',
  );
  addObjstoreFlags(cmd);
  addServingFlags(cmd, { grpc: true });
  addLogFlags(cmd);
  return cmd;
}

/** Adds `thanos-ts receive` to the program. */
export function registerReceive(program: Command): void {
  const cmd = defineReceiveCommand().action(async (o: ReceiveFlags) => {
    const logger = loggerFromFlags(o, 'receive');
    const { uploads, ...cfg } = await parseReceiveFlags(o);
    const registry = new Registry();
    const bucket = uploads ? await bucketFromFlags(o, { registry }) : undefined;
    if (!bucket) logger.info('no supported bucket was configured, uploads will be disabled');
    const receiver = createReceiver({ ...cfg, ...(bucket ? { bucket } : {}), logger, registry });
    await runUntilSignal(receiver, { logger, cleanup: async () => bucket?.close() });
  });
  program.addCommand(cmd);
}
