import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBucketWeb } from '@thanos-ts/core/bucketweb';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketFromFlags } from '../flags/objstore.js';
import {
  type BucketWebFlags,
  defineBucketWebCommand,
  parseBucketWebFlags,
  registerBucketWeb,
} from './tools-bucket-web.js';

/** The flags commander gives the action for `tools bucket web <args>`. */
async function flagsOf(args: string[]): Promise<BucketWebFlags> {
  let got: BucketWebFlags | undefined;
  const cmd = defineBucketWebCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .action(function (this: { opts(): BucketWebFlags }) {
      got = this.opts();
    });
  await cmd.parseAsync(args, { from: 'user' });
  return got as BucketWebFlags;
}

describe('thanos-ts tools bucket web', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeTempDir(d);
  });

  it("has Thanos's defaults", async () => {
    const cfg = await parseBucketWebFlags(await flagsOf([]));
    expect(cfg).toMatchObject({
      httpAddress: '0.0.0.0:10902',
      httpGracePeriodMs: 120_000,
      refreshIntervalMs: 30 * 60_000,
      timeoutMs: 5 * 60_000,
      label: '',
      externalPrefix: '',
      prefixHeader: '',
      disableCORS: false,
      disableAdminOperations: false,
    });
    expect(cfg.routePrefix).toBeUndefined();
    expect(cfg.filters?.relabel).toBeUndefined();
  });

  it('takes the flags kube-thanos passes', async () => {
    const cfg = await parseBucketWebFlags(
      await flagsOf([
        '--log.level=info',
        '--log.format=logfmt',
        '--objstore.config=type: FILESYSTEM\nconfig:\n  directory: /tmp/x\n',
        '--label=cluster_name',
        '--refresh=5m',
        '--web.route-prefix=/bucket',
        '--web.disable-cors',
        '--disable-admin-operations',
        '--min-time=-2w',
        '--selector.relabel-config=- action: keep\n  source_labels: [cluster]\n  regex: eu\n',
      ]),
    );
    expect(cfg).toMatchObject({
      label: 'cluster_name',
      refreshIntervalMs: 300_000,
      routePrefix: '/bucket',
      disableCORS: true,
      disableAdminOperations: true,
      filters: { minTime: { kind: 'duration', ms: -14 * 24 * 3_600_000 } },
    });
    expect(cfg.filters?.relabel).toHaveLength(1);
  });

  const bad: { name: string; args: string[]; error: RegExp }[] = [
    { name: 'refresh not a duration', args: ['--refresh=often'], error: /--refresh/ },
    { name: 'refresh zero', args: ['--refresh=0s'], error: /--refresh: must be positive/ },
    { name: 'timeout not a duration', args: ['--timeout=soon'], error: /--timeout/ },
    { name: 'http address without port', args: ['--http-address=localhost'], error: /http-address/ },
    { name: 'min-time garbage', args: ['--min-time=yesterday'], error: /--min-time/ },
    {
      name: 'relabel file and inline',
      args: ['--selector.relabel-config=[]', '--selector.relabel-config-file=/x'],
      error: /mutually exclusive/,
    },
    {
      name: 'relabel file missing',
      args: ['--selector.relabel-config-file=/no/such'],
      error: /cannot read \/no\/such/,
    },
  ];
  it.each(bad)('refuses $name naming the flag', async ({ args, error }) => {
    await expect(parseBucketWebFlags(await flagsOf(args))).rejects.toThrow(error);
  });

  it('runs in-process from its flags over a filesystem bucket', async () => {
    const dir = await makeTempDir('bucket-web-cli-');
    dirs.push(dir);
    const cfgFile = join(dir, 'objstore.yml');
    await writeFile(cfgFile, `type: FILESYSTEM\nconfig:\n  directory: ${join(dir, 'bucket')}\n`);
    const o = await flagsOf([`--objstore.config-file=${cfgFile}`, '--http-address=127.0.0.1:0', '--label=cluster']);
    const bucket = await bucketFromFlags(o);
    await using web = createBucketWeb({ ...(await parseBucketWebFlags(o)), bucket });
    await web.start();
    const body = (await (await fetch(`http://${web.httpAddress}/api/v1/blocks`)).json()) as {
      data: { label: string; blocks: unknown[]; err: unknown };
    };
    expect(body.data).toMatchObject({ label: 'cluster', blocks: [], err: null });
    await bucket.close();
  });

  it('registers as `web` under a bucket command', () => {
    const bucketCmd = new Command('bucket');
    registerBucketWeb(bucketCmd);
    expect(bucketCmd.commands.map((c) => c.name())).toEqual(['web']);
  });
});
