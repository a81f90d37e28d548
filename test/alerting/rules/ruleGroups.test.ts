import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandTemplate } from '../../../src/alerting/rules/annotationTemplate.js';
import { parseRuleFile, parseRuleGroup } from '../../../src/alerting/rules/ruleGroups.js';

test('a Loki ruler file compiles: expressions parsed by the LogQL parser, durations, labels, tenants', () => {
  const groups = parseRuleFile(
    `groups:
  - name: errors
    interval: 30s
    rules:
      - alert: HighErrorRate
        expr: sum by (service_name) (rate({service_name=~"shop.*"} |= "error" [5m])) > 0.5
        for: 2m
        labels: { severity: warning }
        annotations: { summary: "{{ $labels.service_name }}" }
  - name: other
    tenant: beta
    rules:
      - alert: Any
        expr: count_over_time({service_name="x"}[1m]) > 0
`,
    'shop.yaml',
    'default',
  );
  assert.deepEqual(
    groups.map((g) => [g.tenant, g.namespace, g.name, g.intervalMs]),
    [
      ['default', 'shop.yaml', 'errors', 30_000],
      ['beta', 'shop.yaml', 'other', undefined],
    ],
  );
  assert.equal(groups[0].rules[0].forMs, 120_000);
  assert.equal(groups[0].rules[0].expr.kind, 'binary');
  assert.deepEqual(groups[0].rules[0].labels, { criteria: 'CC7.2', severity: 'warning' });
  assert.equal(groups[1].rules[0].forMs, 0);
});

test('bad rules are refused with the group, the alert and the reason', () => {
  assert.throws(
    () => parseRuleGroup('name: g\nrules:\n  - alert: A\n    expr: "{a=\\"b\\"}"\n', 'ns', 't'),
    /group g, alert A: the expression must be a metric query/,
  );
  assert.throws(
    () => parseRuleGroup('name: g\nrules:\n  - alert: A\n    expr: "sum(rate({a=\\"b\\"}[1m]"\n', 'ns', 't'),
    /group g, alert A:/,
  );
  assert.throws(() => parseRuleGroup('name: g\nrules:\n  - record: r\n    expr: x\n', 'ns', 't'), /rule group: rules\.0/);
  assert.throws(
    () => parseRuleGroup('name: g\nrules:\n  - alert: A\n    expr: "count_over_time({a=\\"b\\"}[1m])"\n    for: soon\n', 'ns', 't'),
    /cannot parse "soon"/,
  );
  assert.throws(() => parseRuleFile('groups: [{ name: g, rules: [] }]', 'f.yaml', 'default'), /rules f\.yaml: groups\.0\.rules/);
});

test('annotation templates fill $labels and $value; unknown placeholders stay visible', () => {
  const labels = { service_name: 'checkout', alertname: 'HighErrorRate' };
  assert.equal(expandTemplate('{{ $labels.service_name }} at {{ $value }} ({{$labels.missing}})', labels, 0.25), 'checkout at 0.25 ()');
  assert.equal(expandTemplate('{{ humanize $value }} req/s', labels, 12_345), '12.345k req/s');
  assert.equal(expandTemplate('{{ .Labels.x }} {{ printf "%d" $value }}', labels, 1), '{{ .Labels.x }} {{ printf "%d" $value }}');
});
