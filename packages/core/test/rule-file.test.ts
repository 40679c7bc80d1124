import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { programAvailable } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertTemplate,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  parseRuleFile,
  RuleFileError,
  sprintf,
} from '../src/rule/index.js';

// Bad rule files and the lines `promtool check rules` (2.42) prints for them. Each case is
// checked against our parser always, and against the real promtool when it is installed, so the
// expected text is the real program's.
const BAD_FILES = [
  {
    name: 'expression, recording rule fields, both record and alert, labels, template, repeated group',
    text: `groups:
  - name: g1
    interval: 30s
    rules:
      - record: job:up:sum
        expr: sum(up) by (job
      - record: "bad name"
        expr: up
        for: 5m
      - alert: A
        record: b
        expr: up
      - alert: B
        expr: up
        labels:
          __name__: x
        annotations:
          summary: "{{ $labels.job "
  - name: g1
    rules:
      - expr: up
`,
    want: [
      '6:15: group "g1", rule 1, "job:up:sum": could not parse expression: 1:16: parse error: unclosed left parenthesis',
      '7:17: group "g1", rule 2, "bad name": invalid field \'for\' in recording rule',
      '7:17: group "g1", rule 2, "bad name": invalid recording rule name: bad name',
      '11:17: 10:16: group "g1", rule 3, "A": only one of \'record\' and \'alert\' must be set',
      'group "g1", rule 4, "B": invalid label name: __name__',
      'group "g1", rule 4, "B": annotation "summary": template: __alert_B:1: unclosed action',
      '19:5: groupname: "g1" is repeated in the same file',
      '0:0: group "g1", rule 1, "": one of \'record\' or \'alert\' must be set',
    ],
  },
  {
    name: 'unknown group field',
    text: 'groups:\n  - name: g\n    foo: 1\n    rules:\n      - record: x\n        expr: up\n',
    want: ['yaml: unmarshal errors:\n  line 3: field foo not found in type rulefmt.RuleGroup'],
  },
  {
    name: 'unknown rule field',
    text: 'groups:\n  - name: ""\n    rules:\n      - alert: X\n        expr: up\n        bogus: 1\n',
    want: ['yaml: unmarshal errors:\n  line 6: field bogus not found in type rulefmt.RuleNode'],
  },
  {
    name: 'unknown top-level field',
    text: 'foo: 1\n',
    want: ['yaml: unmarshal errors:\n  line 1: field foo not found in type rulefmt.RuleGroups'],
  },
  {
    name: 'bad duration aborts decoding',
    text: 'groups:\n  - name: g\n    interval: 3x\n    rules:\n      - record: r\n        expr: up\n',
    want: ['not a valid duration string: "3x"'],
  },
  {
    name: 'type errors are collected',
    text: 'groups:\n- name: g\n  limit: x\n  rules:\n  - record: r\n    expr: up\n    labels: [1]\n',
    want: [
      'yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `x` into int\n  line 7: cannot unmarshal !!seq into map[string]string',
    ],
  },
  {
    name: 'missing expr, recording rule with annotations and keep_firing_for, bad names, undefined function',
    text: `groups:
  - name: g
    rules:
      - alert: X
        expr: up
        keep_firing_for: 5m
        for: 1m
      - record: r
        keep_firing_for: 1m
        annotations:
          a: b
      - alert: Y
        expr: up
        labels:
          "0bad": v
        annotations:
          "1x": v
          d: "{{ humanize $value }} {{ .Nope }} {{ nosuch 1 }}"
`,
    want: [
      '0:0: group "g", rule 2, "r": field \'expr\' must be set in rule',
      '8:17: group "g", rule 2, "r": invalid field \'annotations\' in recording rule',
      '8:17: group "g", rule 2, "r": invalid field \'keep_firing_for\' in recording rule',
      'group "g", rule 3, "Y": invalid label name: 0bad',
      'group "g", rule 3, "Y": invalid annotation name: 1x',
      'group "g", rule 3, "Y": annotation "d": template: __alert_Y:1: function "nosuch" not defined',
    ],
  },
  {
    name: 'template control structures',
    text: `groups:
- name: g
  rules:
  - alert: a
    expr: up
    annotations:
      x: "{{ range .x }}"
      y: "{{ end }}"
      z: "{{ if }}"
`,
    want: [
      'group "g", rule 1, "a": annotation "x": template: __alert_a:1: unexpected EOF',
      'group "g", rule 1, "a": annotation "y": template: __alert_a:1: unexpected {{end}}',
      'group "g", rule 1, "a": annotation "z": template: __alert_a:1: missing value for if',
    ],
  },
];

function ourErrors(file: string, text: string): string[] {
  try {
    parseRuleFile(file, text);
  } catch (err) {
    expect(err).toBeInstanceOf(RuleFileError);
    expect((err as RuleFileError).code).toBe('CORE_RULE_FILE');
    return [...(err as RuleFileError).errors];
  }
  return [];
}

describe('rule files', () => {
  it.each(BAD_FILES)('$name', ({ text, want }) => {
    // Go's map order decides promtool's order among one rule's annotations; compare as sets there.
    expect(ourErrors('f.yml', text).sort()).toEqual([...want].sort());
  });

  it('parses groups as Prometheus and Thanos do', () => {
    const groups = parseRuleFile(
      'ok.yml',
      `groups:
  - name: g
    interval: 30s
    query_offset: 1m
    limit: 10
    partial_response_strategy: warn
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: { team: a }
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 2m
        labels: { severity: page }
        annotations: { summary: "{{ $labels.job }} down" }
`,
    );
    expect(groups).toEqual([
      {
        file: 'ok.yml',
        name: 'g',
        intervalMs: 30_000,
        queryOffsetMs: 60_000,
        limit: 10,
        partialResponseStrategy: 'WARN',
        rules: [
          {
            record: 'job:up:sum',
            expr: 'sum by (job) (up)',
            forMs: 0,
            keepFiringForMs: 0,
            labels: { team: 'a' },
            annotations: {},
          },
          {
            alert: 'Down',
            expr: 'up == 0',
            forMs: 300_000,
            keepFiringForMs: 120_000,
            labels: { severity: 'page' },
            annotations: { summary: '{{ $labels.job }} down' },
          },
        ],
      },
    ]);
    expect(parseRuleFile('empty.yml', '')).toEqual([]);
  });

  it('rejects an unknown partial_response_strategy', () => {
    const errs = ourErrors('f.yml', 'groups:\n- name: g\n  partial_response_strategy: maybe\n  rules: []\n');
    expect(errs).toEqual([
      '2:3: group "g": failed to unmarshal "partial_response_strategy": "MAYBE"; possible values are WARN, ABORT',
    ]);
  });
});

describe.skipIf(!programAvailable('promtool'))('rule files against promtool check rules', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rule-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  it.each(BAD_FILES)('$name', async ({ name, text }) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yml`);
    await writeFile(file, text);
    const out = await promisify(execFile)('promtool', ['check', 'rules', file]).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    // promtool prints "<file>: <error>" lines; multi-line yaml errors continue on indented lines.
    const theirs = out
      .split('\n')
      .filter((l) => l.startsWith(`${file}: `) || l.startsWith('  line '))
      .join('\n')
      .split(`${file}: `)
      .map((s) => s.replace(/\n$/, ''))
      .filter((s) => s !== '');
    expect(ourErrors(file, text).sort()).toEqual([...new Set(theirs)].sort());
  });
});

describe('alert templates', () => {
  const data = {
    labels: { job: 'api', instance: 'h:9090', __name__: 'up' },
    externalLabels: { cluster: 'eu' },
    externalURL: 'http://ruler:10902/prefix',
    value: 1234567.5,
  };
  it.each([
    { name: 'labels and value', tmpl: '{{ $labels.job }} is {{ $value }}', want: 'api is 1.2345675e+06' },
    { name: 'dot form', tmpl: '{{ .Labels.instance }} {{ .Value }}', want: 'h:9090 1.2345675e+06' },
    { name: 'missing label is empty', tmpl: '[{{ $labels.nope }}]', want: '[]' },
    { name: 'external labels', tmpl: '{{ $externalLabels.cluster }}', want: 'eu' },
    { name: 'humanize pipe', tmpl: '{{ $value | humanize }}', want: '1.235M' },
    { name: 'printf', tmpl: '{{ printf "%.2f" $value }}/{{ printf "%s=%q" "a" "b" }}', want: '1234567.50/a="b"' },
    { name: 'if else', tmpl: '{{ if gt $value 1e6 }}big{{ else }}small{{ end }}', want: 'big' },
    {
      name: 'else if',
      tmpl: '{{ if eq $labels.job "x" }}x{{ else if eq $labels.job "api" }}api{{ end }}',
      want: 'api',
    },
    {
      name: 'range over labels',
      tmpl: '{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}',
      want: '__name__=up;instance=h:9090;job=api;',
    },
    { name: 'trim markers', tmpl: 'a  {{- " b " -}}  c', want: 'a b c' },
    { name: 'with and variables', tmpl: '{{ $x := "q" }}{{ with $labels.job }}{{ . }}{{ $x }}{{ end }}', want: 'apiq' },
    {
      name: 'string functions',
      tmpl: '{{ toUpper "ab" }} {{ title "hello world" }} {{ reReplaceAll "h:(.*)" "port $1" $labels.instance }}',
      want: 'AB Hello World port 9090',
    },
    {
      name: 'links and path',
      tmpl: '{{ pathPrefix }} {{ graphLink "up == 0" }}',
      want: '/prefix /graph?g0.expr=up+%3D%3D+0&g0.tab=0',
    },
    {
      name: 'stripPort and match',
      tmpl: '{{ stripPort $labels.instance }} {{ match "^a" $labels.job }}',
      want: 'h true',
    },
    { name: 'comment', tmpl: 'a{{/* hidden */}}b', want: 'ab' },
  ])('$name', ({ tmpl, want }) => {
    expect(new AlertTemplate('__alert_t', tmpl).renderSync(data)).toBe(want);
  });

  it('runs query through the given function', async () => {
    const t = new AlertTemplate(
      '__alert_q',
      '{{ with query "up" }}{{ . | first | value | humanize }} {{ (first .).Labels.job }}{{ end }}',
    );
    const got = await t.render(data, async (q) => {
      expect(q).toBe('up');
      return [{ Labels: { job: 'x' }, Value: 2048 }];
    });
    expect(got).toBe('2.048k x');
  });

  it('fails rendering with Go-like errors', () => {
    expect(() => new AlertTemplate('__alert_e', '{{ .Nope }}').renderSync(data)).toThrow(
      /can't evaluate field Nope in type \*template.tmplData/,
    );
  });

  it.each([
    { fn: humanize, in: 0, want: '0' },
    { fn: humanize, in: 1234, want: '1.234k' },
    { fn: humanize, in: 0.001234, want: '1.234m' },
    { fn: humanize, in: -5e9, want: '-5G' },
    { fn: humanize, in: Number.NaN, want: 'NaN' },
    { fn: humanize1024, in: 1048576, want: '1Mi' },
    { fn: humanize1024, in: 0.5, want: '0.5' },
    { fn: humanizeDuration, in: 0, want: '0s' },
    { fn: humanizeDuration, in: 90061, want: '1d 1h 1m 1s' },
    { fn: humanizeDuration, in: 3661, want: '1h 1m 1s' },
    { fn: humanizeDuration, in: 61, want: '1m 1s' },
    { fn: humanizeDuration, in: 1.5, want: '1.5s' },
    { fn: humanizeDuration, in: 0.25, want: '250ms' },
    { fn: humanizePercentage, in: 0.12345, want: '12.35%' },
    { fn: humanizeTimestamp, in: 1435065584.128, want: '2015-06-23 13:19:44.128 +0000 UTC' },
    { fn: humanize, in: '1000', want: '1k' },
  ])('$fn.name($in) = $want', ({ fn, in: x, want }) => {
    expect(fn(x)).toBe(want);
  });

  it('sprintf', () => {
    expect(sprintf('%d%% %5.1f|%-4s|%x', [50, 3.14, 'ab', 255])).toBe('50%   3.1|ab  |ff');
    expect(sprintf('%d', [1.5])).toBe('%!d(float64=1.5)');
  });
});
