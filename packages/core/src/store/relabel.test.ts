import { describe, expect, it } from 'vitest';
import { hashmod, parseRelabelConfig, relabel } from './relabel.js';

describe('relabel (Prometheus semantics)', () => {
  it('hashmod matches Prometheus test vectors', () => {
    expect(hashmod('baz', 1000)).toBe(976);
    expect(hashmod('foo\nbar', 1000)).toBe(734);
  });

  it.each([
    ['keep on regex', '- action: keep\n  source_labels: [a]\n  regex: "f.*"', { a: 'foo' }, { a: 'foo' }],
    ['keep drops non-matching', '- action: keep\n  source_labels: [a]\n  regex: "f.*"', { a: 'bar' }, undefined],
    ['drop', '- action: drop\n  source_labels: [a, b]\n  regex: "foo;bar"', { a: 'foo', b: 'bar' }, undefined],
    [
      'replace with groups',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${1} is relabel replacement syntax
      '- source_labels: [a]\n  regex: "f(o+)"\n  target_label: b\n  replacement: "x${1}y"',
      { a: 'foo' },
      { a: 'foo', b: 'xooy' },
    ],
    [
      'replace to empty deletes',
      '- source_labels: [a]\n  regex: "(f).*"\n  target_label: "$1"\n  replacement: "$2"',
      { a: 'foo', f: 'baz' },
      { a: 'foo' },
    ],
    [
      'named groups (Go syntax)',
      '- source_labels: [a]\n  regex: "(?P<x>f)oo"\n  target_label: b\n  replacement: "$x"',
      { a: 'foo' },
      { a: 'foo', b: 'f' },
    ],
    [
      'labelmap',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${1} is relabel replacement syntax
      '- action: labelmap\n  regex: "(b.*)"\n  replacement: "bar_${1}"',
      { a: 'foo', b1: 'x' },
      { a: 'foo', b1: 'x', bar_b1: 'x' },
    ],
    ['labeldrop', '- action: labeldrop\n  regex: "b.*"', { a: 'foo', b1: 'x' }, { a: 'foo' }],
    ['labelkeep', '- action: labelkeep\n  regex: "b.*"', { a: 'foo', b1: 'x' }, { b1: 'x' }],
    ['lowercase', '- action: lowercase\n  source_labels: [a]\n  target_label: l', { a: 'FoO' }, { a: 'FoO', l: 'foo' }],
    ['keepequal', '- action: keepequal\n  source_labels: [a]\n  target_label: b', { a: 'x', b: 'y' }, undefined],
    ['dropequal', '- action: dropequal\n  source_labels: [a]\n  target_label: b', { a: 'x', b: 'x' }, undefined],
  ] as Array<[string, string, Record<string, string>, Record<string, string> | undefined]>)(
    '%s',
    (_name, yaml, input, want) => {
      expect(relabel(input, parseRelabelConfig(yaml))).toEqual(want);
    },
  );

  it('rejects bad configs naming the flag and rule', () => {
    expect(() => parseRelabelConfig('- action: frobnicate')).toThrow(
      /--selector.relabel-config: rule 0: unknown relabel action/,
    );
    expect(() => parseRelabelConfig('- action: hashmod\n  source_labels: [a]\n  target_label: b')).toThrow(
      /non-zero modulus/,
    );
    expect(() => parseRelabelConfig('- regex: "("\n  target_label: x')).toThrow(/invalid regex/);
    expect(() => parseRelabelConfig('action: keep')).toThrow(/YAML list/);
  });
});
