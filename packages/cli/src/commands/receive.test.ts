import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReceiver, encodeWriteRequest } from '@thanos-ts/core/receive';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { defineReceiveCommand, parseReceiveFlags, type ReceiveFlags } from './receive.js';

/** Parses argv with the real command definition, so flag names, keys and defaults are Thanos's. */
function flags(...argv: string[]): ReceiveFlags {
  const cmd = defineReceiveCommand().exitOverride();
  cmd.action(() => {});
  cmd.parse(argv, { from: 'user' });
  return cmd.opts() as ReceiveFlags;
}

describe('thanos-ts receive flags', () => {
  it('has Thanos defaults', async () => {
    const cfg = await parseReceiveFlags(flags());
    expect(cfg).toMatchObject({
      remoteWriteAddress: '0.0.0.0:19291',
      httpAddress: '0.0.0.0:10902',
      grpcAddress: '0.0.0.0:10901',
      tsdbPath: './data',
      retentionMs: 15 * 86400_000,
      outOfOrderTimeWindowMs: 0,
      tenantHeader: 'THANOS-TENANT',
      defaultTenantId: 'default-tenant',
      tenantLabelName: 'tenant_id',
      replicaHeader: 'THANOS-REPLICA',
      hashringsAlgorithm: 'hashmod',
      hashringsFileRefreshIntervalMs: 300_000,
      replicationFactor: 1,
      forwardTimeoutMs: 5_000,
      externalLabels: {},
      uploads: false,
    });
    expect(cfg.localEndpoint).toBeUndefined();
    expect(cfg.hashrings).toBeUndefined();
    // Thanos: no relabelling, no split-tenant label, plain HTTP, target_info on, nothing promoted.
    expect(cfg.relabelConfigs).toBeUndefined();
    expect(cfg.splitTenantLabelName).toBeUndefined();
    expect(cfg.remoteWriteServerTLS).toBeUndefined();
    expect(cfg.otlpEnableTargetInfo).toBe(true);
    expect(cfg.otlpPromoteResourceAttributes).toEqual([]);
    expect(cfg.tenantCertificateField).toBeUndefined();
    expect(cfg.memorySnapshotOnShutdown).toBeUndefined();
  });

  it('maps every receive flag', async () => {
    const dir = await makeTempDir('receive-cli-');
    try {
      const limits = join(dir, 'limits.yaml');
      await writeFile(limits, 'write:\n  default:\n    request:\n      series_limit: 10\n');
      const cfg = await parseReceiveFlags(
        flags(
          '--remote-write.address=127.0.0.1:0',
          '--tsdb.path',
          dir,
          '--tsdb.retention=1d',
          '--tsdb.out-of-order.time-window=10m',
          '--label',
          'replica="a"',
          '--label',
          'region="eu"',
          '--receive.hashrings',
          '[{"endpoints":["r1:10901","r2:10901"]}]',
          '--receive.hashrings-algorithm=ketama',
          '--receive.local-endpoint=r1:10901',
          '--receive.replication-factor=2',
          '--receive.tenant-header=X-Scope-OrgID',
          '--receive.limits-config-file',
          limits,
          '--remote-write.client-tls-secure',
          '--remote-write.client-tls-ca=/ca.crt',
          '--remote-write.client-tls-cert=/c.crt',
          '--remote-write.client-tls-key=/c.key',
          '--remote-write.client-server-name=peer.test',
          '--remote-write.client-tls-skip-verify',
          '--remote-write.server-tls-cert=/s.crt',
          '--remote-write.server-tls-key=/s.key',
          '--remote-write.server-tls-client-ca=/ca.crt',
          '--remote-write.server-tls-min-version=1.2',
          '--remote-write.server-tls-ciphers=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
          '--remote-write.server-tls-ciphers=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
          '--remote-write.server-tls-curves=X25519',
          '--remote-write.client-tls-min-version=1.2',
          '--receive.tenant-certificate-field=organizationalUnit',
          '--tsdb.memory-snapshot-on-shutdown',
          '--receive.memory-limit=2GiB',
          '--receive.relabel-config',
          '- action: labeldrop\n  regex: pod',
          '--receive.split-tenant-label-name=team',
          '--no-receive.otlp-enable-target-info',
          '--receive.otlp-promote-resource-attributes=service.version',
          '--receive.otlp-promote-resource-attributes=k8s.pod.name',
        ),
      );
      expect(cfg).toMatchObject({
        retentionMs: 86400_000,
        outOfOrderTimeWindowMs: 600_000,
        externalLabels: { replica: 'a', region: 'eu' },
        hashrings: [{ endpoints: [{ address: 'r1:10901' }, { address: 'r2:10901' }] }],
        hashringsAlgorithm: 'ketama',
        localEndpoint: 'r1:10901',
        replicationFactor: 2,
        tenantHeader: 'X-Scope-OrgID',
        peerTLS: {
          secure: true,
          caFile: '/ca.crt',
          certFile: '/c.crt',
          keyFile: '/c.key',
          serverName: 'peer.test',
          skipVerify: true,
          minVersion: '1.2',
        },
        remoteWriteServerTLS: {
          certFile: '/s.crt',
          keyFile: '/s.key',
          clientCAFile: '/ca.crt',
          minVersion: '1.2',
          cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
          curves: ['X25519'],
        },
        tenantCertificateField: 'organizationalUnit',
        memorySnapshotOnShutdown: true,
        splitTenantLabelName: 'team',
        otlpEnableTargetInfo: false,
        otlpPromoteResourceAttributes: ['service.version', 'k8s.pod.name'],
      });
      expect(cfg.relabelConfigs?.map((r) => r.action)).toEqual(['labeldrop']);
      expect(cfg.limits?.defaults.request.seriesLimit).toBe(10);
      expect(cfg.memoryLimitBytes).toBe(2 * 1024 ** 3);
    } finally {
      await removeTempDir(dir);
    }
  });

  it.each([
    [['--receive.hashrings-algorithm=roundrobin'], /--receive.hashrings-algorithm: want one of hashmod, ketama/],
    [['--receive.replication-factor=0'], /--receive.replication-factor: want an integer ≥ 1/],
    [['--tsdb.retention=forever'], /--tsdb.retention: invalid duration/],
    [['--remote-write.address=nowhere'], /--remote-write.address: want host:port/],
    [['--label', 'bad'], /--label: unrecognized label "bad"/],
    [['--receive.hashrings', '[]'], /--receive.hashrings: configuration file is empty/],
    [['--receive.limits-config', 'write: {default: {nope: 1}}'], /field nope not found/],
    [['--receive.limits-config-file', '/does/not/exist'], /--receive.limits-config-file: cannot read/],
    [['--receive.relabel-config', '- action: explode'], /--receive.relabel-config: rule 0: unknown relabel action/],
    [['--receive.relabel-config-file', '/does/not/exist'], /--receive.relabel-config-file: cannot read/],
    [
      ['--receive.relabel-config-file', '/x', '--receive.relabel-config', '[]'],
      /--receive.relabel-config-file and --receive.relabel-config are mutually exclusive/,
    ],
    [
      ['--remote-write.server-tls-min-version=1.4'],
      /--remote-write.server-tls-min-version: want one of 1.0, 1.1, 1.2, 1.3/,
    ],
    [['--remote-write.server-tls-cert=/c'], /both server key and certificate must be provided/],
    [
      ['--remote-write.server-tls-ciphers=TLS_RSA_WITH_RC4_128_SHA'],
      /--remote-write.server-tls-ciphers: invalid cipher suite: TLS_RSA_WITH_RC4_128_SHA, valid values are/,
    ],
    [
      ['--remote-write.server-tls-curves=P-256'],
      /--remote-write.server-tls-curves: invalid curve: P-256, valid values are/,
    ],
    [
      ['--remote-write.client-tls-min-version=1.4'],
      /--remote-write.client-tls-min-version: want one of 1.0, 1.1, 1.2, 1.3/,
    ],
    [
      ['--receive.tenant-certificate-field=email'],
      /--receive.tenant-certificate-field: must be one of organization, organizationalUnit, commonName/,
    ],
    [
      ['--remote-write.server-tls-client-ca=/ca'],
      /when a client CA is used a server key and certificate must also be provided/,
    ],
  ])('rejects %j naming the flag', async (argv, error) => {
    await expect(parseReceiveFlags(flags(...argv))).rejects.toThrow(error);
  });

  it('runs a receiver from the parsed flags that accepts remote write', async () => {
    const dir = await makeTempDir('receive-cli-run-');
    try {
      const { uploads, ...cfg } = await parseReceiveFlags(
        flags(
          '--remote-write.address=127.0.0.1:0',
          '--http-address=127.0.0.1:0',
          '--grpc-address=127.0.0.1:0',
          '--tsdb.path',
          dir,
          '--label',
          'replica="x"',
        ),
      );
      expect(uploads).toBe(false);
      await using r = createReceiver({ ...cfg, httpGracePeriodMs: 0, grpcGracePeriodMs: 0 });
      await r.start();
      const req = encodeWriteRequest([
        { labels: [{ name: '__name__', value: 'up' }], timestamps: [Date.now()], values: [1], histograms: 0 },
      ]);
      const res = await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, {
        method: 'POST',
        body: compressSync(Buffer.from(req)),
      });
      expect(res.status).toBe(200);
      expect(r.tenants()).toEqual(['default-tenant']);
    } finally {
      await removeTempDir(dir);
    }
  });
});
