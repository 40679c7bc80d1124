import { describe, expect, it } from 'vitest';
import { defineRuleCommand, parseLabelFlags, parseRuleFlags, type RuleFlags } from './rule.js';

function flagsOf(argv: string[]): RuleFlags {
  const cmd = defineRuleCommand();
  cmd.exitOverride();
  cmd.parse(argv, { from: 'user' });
  return cmd.opts() as RuleFlags;
}

describe('thanos-ts rule flags', () => {
  it('takes Thanos defaults and repeated flags', () => {
    const cfg = parseRuleFlags(
      flagsOf([
        '--rule-file=rules/*.yml',
        '--rule-file=other.yml',
        '--query=query:9090',
        '--query=http://query-2:9090',
        '--label=replica="a"',
        '--label=cluster="eu-1"',
        '--alertmanagers.url=http://am:9093',
        '--alert.label-drop=replica',
      ]),
    );
    expect(cfg).toMatchObject({
      ruleFiles: ['rules/*.yml', 'other.yml'],
      dataDir: 'data/',
      evalIntervalMs: 60_000,
      queryOffsetMs: 0,
      externalLabels: { replica: 'a', cluster: 'eu-1' },
      queryURLs: ['http://query:9090', 'http://query-2:9090'],
      queryHttpMethod: 'POST',
      alertmanagerURLs: ['http://am:9093'],
      alertmanagerSendTimeoutMs: 10_000,
      alertLabelDrop: ['replica'],
      resendDelayMs: 60_000,
      forGracePeriodMs: 600_000,
      forOutageToleranceMs: 3_600_000,
      tsdbRetentionMs: 48 * 3_600_000,
      tsdbBlockDurationMs: 2 * 3_600_000,
      httpAddress: '0.0.0.0:10902',
      grpcAddress: '0.0.0.0:10901',
    });
    expect(cfg.alertQueryURL).toBeUndefined();
  });

  it.each([
    { name: 'bad method', argv: ['--query.http-method=PUT'], err: '--query.http-method: want GET or POST, got "PUT"' },
    { name: 'bad interval', argv: ['--eval-interval=soon'], err: '--eval-interval: invalid duration "soon"' },
    { name: 'unquoted label', argv: ['--label=a=b'], err: '--label: unrecognized label "a=b", want name="value"' },
    { name: 'no query', argv: [], err: '--query: at least one query endpoint is required', noQuery: true },
  ])('$name', ({ argv, err, noQuery }) => {
    const base = ['--rule-file=r.yml', ...(noQuery ? [] : ['--query=q:9090'])];
    expect(() => parseRuleFlags(flagsOf([...base, ...argv]))).toThrow(err);
  });

  it('parses labels with escapes', () => {
    expect(parseLabelFlags(['a="x\\"y"'], 'label')).toEqual({ a: 'x"y' });
  });
});
