// Hashrings place series exactly where Thanos's do (cases from Thanos's pkg/receive/hashring_test.go),
// and the hashrings file parses, fails and reloads as Thanos's does.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { describe, expect, it } from 'vitest';
import {
  createHashmodHashring,
  createKetamaHashring,
  createMultiHashring,
  createReceiver,
  parseHashringsConfig,
  type WireLabel,
} from '../src/receive/index.js';

const nginx: WireLabel[] = [{ name: 'pod', value: 'nginx' }];
const thanos: WireLabel[] = [{ name: 'pod', value: 'thanos' }];
const eps = (...names: string[]) => names.map((address) => ({ address }));

describe('ketama hashring (Thanos TestKetamaHashringGet, 10 sections per node)', () => {
  it.each([
    { name: 'base case', endpoints: eps('node-1', 'node-2', 'node-3'), ts: nginx, n: 0, want: 'node-2' },
    { name: 'replica 1', endpoints: eps('node-1', 'node-2', 'node-3'), ts: nginx, n: 1, want: 'node-1' },
    { name: 'replica 2', endpoints: eps('node-1', 'node-2', 'node-3'), ts: nginx, n: 2, want: 'node-3' },
    { name: 'reordered nodes', endpoints: eps('node-1', 'node-3', 'node-2'), ts: nginx, n: 2, want: 'node-3' },
    { name: 'new node first', endpoints: eps('node-0', 'node-1', 'node-2', 'node-3'), ts: nginx, n: 0, want: 'node-2' },
    { name: 'new node last', endpoints: eps('node-1', 'node-2', 'node-3', 'node-4'), ts: nginx, n: 0, want: 'node-2' },
    { name: 'other series', endpoints: eps('node-1', 'node-2', 'node-3'), ts: thanos, n: 0, want: 'node-3' },
  ])('$name', ({ endpoints, ts, n, want }) => {
    const ring = createKetamaHashring(endpoints, n + 1, 10);
    expect(ring.getN('tenant', ts, n).address).toBe(want);
  });

  it('moves about 1/N of the series when a node joins, and replicas are distinct nodes', () => {
    const before = createKetamaHashring(eps('a:1', 'b:1', 'c:1', 'd:1'), 3);
    const after = createKetamaHashring(eps('a:1', 'b:1', 'c:1', 'd:1', 'e:1'), 3);
    let moved = 0;
    const total = 5000;
    for (let i = 0; i < total; i++) {
      const ls = [
        { name: '__name__', value: 'm' },
        { name: 'i', value: String(i) },
      ];
      if (before.getN('t', ls, 0).address !== after.getN('t', ls, 0).address) moved++;
      const reps = [0, 1, 2].map((n) => after.getN('t', ls, n).address);
      expect(new Set(reps).size).toBe(3);
    }
    // The new node takes ~1/5; everything that moved went to it.
    expect(moved / total).toBeGreaterThan(0.1);
    expect(moved / total).toBeLessThan(0.3);
  });

  it('refuses fewer endpoints than the replication factor', () => {
    expect(() => createKetamaHashring(eps('a'), 2)).toThrow(
      'ketama: amount of endpoints needs to be larger than replication factor',
    );
  });
});

describe('hashmod hashring', () => {
  it('sorts endpoints and puts replica n on the next endpoint', () => {
    const ring = createHashmodHashring(eps('c', 'a', 'b'));
    expect(ring.nodes().map((e) => e.address)).toEqual(['a', 'b', 'c']);
    const first = ring.getN('tenant', nginx, 0).address;
    const second = ring.getN('tenant', nginx, 1).address;
    const order = ['a', 'b', 'c'];
    expect(order[(order.indexOf(first) + 1) % 3]).toBe(second);
    expect(() => ring.getN('tenant', nginx, 3)).toThrow('insufficient nodes; have 3, want 4');
  });
});

describe('hashrings file', () => {
  it.each([
    { name: 'not JSON', text: '{', error: /configuration file is not parsable/ },
    { name: 'empty', text: '[]', error: /configuration file is empty/ },
    { name: 'endpoint without address', text: '[{"endpoints":[{"az":"x"}]}]', error: /endpoint address must be set/ },
    { name: 'bad algorithm', text: '[{"endpoints":["a"],"algorithm":"round"}]', error: /unknown algorithm "round"/ },
  ])('rejects $name', ({ text, error }) => {
    expect(() => parseHashringsConfig(text, 'h.json')).toThrow(error);
  });

  it('routes tenants to their ring (exact and glob), the rest to the catch-all', () => {
    const ring = createMultiHashring(
      parseHashringsConfig(
        JSON.stringify([
          { hashring: 'a', tenants: ['team-a'], endpoints: ['a:1'] },
          { hashring: 'g', tenants: ['ops-*'], tenant_matcher_type: 'glob', endpoints: [{ address: 'g:1' }] },
          { hashring: 'rest', endpoints: ['r:1'] },
        ]),
      ),
    );
    expect(ring.getN('team-a', nginx, 0).address).toBe('a:1');
    expect(ring.getN('ops-eu', nginx, 0).address).toBe('g:1');
    expect(ring.getN('other', nginx, 0).address).toBe('r:1');
  });

  it('is reloaded by a running receiver when the file changes, and a bad file keeps the old ring', async () => {
    const dir = await makeTempDir('receive-hashring-');
    const file = join(dir, 'hashrings.json');
    await writeFile(file, JSON.stringify([{ endpoints: ['local:1'] }]));
    const r = createReceiver({
      tsdbPath: join(dir, 'data'),
      hashringsFile: file,
      localEndpoint: 'local:1',
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      flushIntervalMs: 0,
    });
    try {
      await r.start();
      const ts = [{ labels: [{ name: '__name__', value: 'up' }], timestamps: [1000], values: [1], histograms: 0 }];
      await r.write({ timeseries: ts });
      const metric = async (name: string) => {
        const text = await (await fetch(`http://${r.httpAddress}/metrics`)).text();
        return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      };
      // Now everything belongs to a peer that does not exist: writes fail as unavailable.
      await writeFile(file, JSON.stringify([{ endpoints: ['127.0.0.1:1'] }]));
      await expect.poll(() => metric('thanos_receive_hashrings_file_changes_total'), { timeout: 10_000 }).toBe(1);
      await expect(r.write({ timeseries: [{ ...ts[0], timestamps: [2000] } as (typeof ts)[0]] })).rejects.toMatchObject(
        { code: 'CORE_RECEIVE_UNAVAILABLE' },
      );
      await writeFile(file, 'not json');
      await expect.poll(() => metric('thanos_receive_config_last_reload_successful'), { timeout: 10_000 }).toBe(0);
      const ready = await fetch(`http://${r.httpAddress}/-/ready`);
      expect(await ready.text()).toContain('configuration file is not parsable');
    } finally {
      await r.close();
      await removeTempDir(dir);
    }
  });
});
