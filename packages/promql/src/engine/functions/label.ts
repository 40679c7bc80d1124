/**
 * label_replace and label_join (Prometheus's evalLabelReplace/evalLabelJoin): rewrite one label
 * of every series, then merge series whose label sets became equal.
 */
import { METRIC_NAME } from '@thanos-ts/tsdb';
import { RE2JS } from 're2js';
import { QueryEvaluationError } from '../errors.js';
import type { StepSeries } from '../types.js';

/** Prometheus 3 accepts any non-empty UTF-8 label name. */
export function isValidLabelName(name: string): boolean {
  // No lone surrogates: those are what invalid UTF-8 bytes decode to.
  return name.length > 0 && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name);
}

const isNameChar = (c: string): boolean => /[\p{L}\p{Nd}_]/u.test(c);

/** Go's regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups expand to ''. */
export function expandTemplate(template: string, group: (nameOrIndex: string) => string): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d;
    if (template[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    let name = '';
    let end = i + 1;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && inner.length > 0 && [...inner].every(isNameChar)) {
        name = inner;
        end = close + 1;
      }
    } else {
      let j = i + 1;
      while (j < template.length && isNameChar(template[j] as string)) j++;
      name = template.slice(i + 1, j);
      end = j;
    }
    if (name === '') {
      // Malformed reference: the `$` stays as text.
      out += '$';
      i += 1;
      continue;
    }
    out += group(name);
    i = end;
  }
  return out;
}

/** label_replace(v, dst, replacement, src, regex) over step series. */
export function labelReplace(
  series: StepSeries[],
  dst: string,
  repl: string,
  src: string,
  regex: string,
): StepSeries[] {
  let re: RE2JS;
  try {
    re = RE2JS.compile(`^(?s:${regex})$`);
  } catch {
    throw new QueryEvaluationError(`invalid regular expression in label_replace(): ${regex}`);
  }
  if (!isValidLabelName(dst))
    throw new QueryEvaluationError(`invalid destination label name in label_replace(): ${dst}`);
  const groupCount = re.groupCount();
  const named = re.namedGroups();
  return series.map((s) => {
    const srcVal = s.labels.get(src);
    const m = re.matcher(srcVal);
    if (!m.matches()) return s;
    const res = expandTemplate(repl, (name) => {
      let idx: number | undefined;
      if (/^[0-9]+$/.test(name)) idx = Number(name);
      else idx = named[name];
      if (idx === undefined || idx > groupCount) return '';
      return m.group(idx) ?? '';
    });
    return { ...s, labels: s.labels.with(dst, res), dropName: dst === METRIC_NAME ? false : s.dropName };
  });
}

/** label_join(v, dst, separator, src...) over step series. */
export function labelJoin(series: StepSeries[], dst: string, sep: string, srcs: string[]): StepSeries[] {
  for (const src of srcs) {
    if (!isValidLabelName(src)) throw new QueryEvaluationError(`invalid source label name in label_join(): ${src}`);
  }
  if (!isValidLabelName(dst)) throw new QueryEvaluationError(`invalid destination label name in label_join(): ${dst}`);
  return series.map((s) => {
    const value = srcs.map((n) => s.labels.get(n)).join(sep);
    return { ...s, labels: s.labels.with(dst, value), dropName: dst === METRIC_NAME ? false : s.dropName };
  });
}
