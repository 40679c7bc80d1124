/**
 * Alert template rendering: 10,000 alerts with typical labels and annotations (label lookups,
 * $value through humanize, printf, an if/else) rendered with AlertTemplate, alerts/s.
 * Run: npx tsx bench/core/rule-template.ts [--alerts=10000] [--rounds=5]
 */
import { AlertTemplate, type TemplateData } from '../../packages/core/src/rule/template.js';
import { numberArg } from '../args.js';

const ALERTS = numberArg('alerts', 10_000);
const ROUNDS = numberArg('rounds', 5);

const templates = [
  new AlertTemplate(
    '__alert_HighLatency',
    '{{ $labels.job }}/{{ $labels.instance }} p99 latency is {{ $value | humanizeDuration }}',
  ),
  new AlertTemplate(
    '__alert_HighLatency',
    'Instance {{ $labels.instance }} of {{ $labels.cluster }}: {{ printf "%.2f" $value }}s ({{ humanize $value }})',
  ),
  new AlertTemplate('__alert_HighLatency', '{{ if gt $value 1.0 }}critical{{ else }}warning{{ end }}'),
  new AlertTemplate('__alert_HighLatency', 'https://runbooks/{{ $labels.job | toLower }}#{{ $externalLabels.region }}'),
];
const data: TemplateData[] = Array.from({ length: ALERTS }, (_, i) => ({
  labels: { __name__: 'latency', job: `Job${i % 50}`, instance: `host-${i}:9100`, cluster: `c${i % 3}` },
  externalLabels: { region: 'eu-west-1' },
  externalURL: 'http://query:9090',
  value: 0.05 + (i % 100) / 40,
}));

let chars = 0;
const rates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  for (const d of data) for (const t of templates) chars += t.renderSync(d).length;
  const s = (performance.now() - t0) / 1000;
  rates.push(ALERTS / s);
}
rates.sort((a, b) => a - b);
console.log(`alerts=${ALERTS} templates/alert=${templates.length} rounds=${ROUNDS} (chars ${chars})`);
console.log(
  `median ${Math.round(rates[Math.floor(ROUNDS / 2)] as number)} alerts/s (each alert renders all ${templates.length} templates)`,
);
