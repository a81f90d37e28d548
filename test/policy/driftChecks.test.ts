import assert from 'node:assert/strict';
import { test } from 'node:test';
import { driftOf, type TenantFacts } from '../../src/policy/driftChecks.js';
import { parsePolicy, type LoggingPolicy } from '../../src/policy/policyFile.js';

/** Each drift kind from one policy and the facts a server would gather, and the same facts within the policy finding nothing. */
function policy(text: string): LoggingPolicy {
  const parsed = parsePolicy(text);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.policy;
}

const acme = policy(`policy_format: 1
tenant: acme
version: t1
owner: owner@acme.example
required_sources:
  - name: checkout-access
    selector: { service: checkout, mesh: istio }
    min_events_per_hour: 600
    fields: [trace_id, status]
retention:
  - selector: { service: checkout }
    max_age: 400d
redaction:
  rules: [credit_card]
  masked_fields: [user.email]
access:
  max_holders: { admin: 1 }
  segregation_of_duties:
    - name: admin-is-not-auditor
      roles: [admin, auditor]
  erasure_people: 2
alert_coverage:
  - source: checkout-access
    rules: [CheckoutErrors]
`);

const compliant = (): TenantFacts => ({
  windowMs: 3_600_000,
  sources: new Map([['checkout-access', { events: 900, missing: { trace_id: 0, status: 0 } }]]),
  streams: [{ service: 'checkout', mesh: 'istio', cluster: '', platform: '' }],
  keptSeconds: () => 400 * 86_400,
  grants: [
    { kind: 'key', id: 'k1', name: 'ops', roles: ['admin'] },
    { kind: 'user', id: 'ann', name: 'ann', roles: ['auditor'] },
  ],
  alertRules: new Set(['CheckoutErrors']),
  erasures: [{ id: 'er-1', requestedBy: 'ann', executedBy: 'ops' }],
  redactionRules: new Set(['credit_card', 'email']),
  maskedFields: new Set(['user.email']),
});

test('facts within the policy are no drift', () => {
  assert.deepEqual(driftOf(acme, compliant()), []);
});

test('every kind of drift is found, each naming its subject', () => {
  const facts = compliant();
  facts.sources.set('checkout-access', { events: 120, missing: { trace_id: 3, status: 0 } });
  facts.streams.push({ service: 'scratch', mesh: '', cluster: '', platform: '' });
  facts.keptSeconds = () => 30 * 86_400;
  facts.grants.push({ kind: 'key', id: 'k2', name: 'root', roles: ['admin', 'auditor'] });
  facts.alertRules.clear();
  facts.erasures.push({ id: 'er-2', requestedBy: 'ops', executedBy: 'ops' });
  facts.redactionRules.clear();
  facts.maskedFields.clear();
  const found = driftOf(acme, facts).map((drift) => `${drift.kind} ${drift.subject}`);
  assert.deepEqual(found.sort(), [
    'erasure_one_person er-2',
    'low_volume checkout-access',
    'missing_alert_rule checkout-access/CheckoutErrors',
    'missing_fields checkout-access',
    'missing_redaction masked:user.email',
    'missing_redaction rule:credit_card',
    'retention_shorter service=checkout,mesh=istio',
    'segregation_of_duties key:k2',
    'too_many_holders admin',
    'unretained_stream service=scratch',
  ]);
});

test('a source with no events is silent, not low in volume, and the rate is scaled to the window', () => {
  const facts = compliant();
  facts.sources.set('checkout-access', { events: 0, missing: {} });
  assert.deepEqual(
    driftOf(acme, facts).map((drift) => drift.kind),
    ['silent_source'],
  );
  // 10 events in 60 s is 600 an hour: exactly the minimum.
  const short = { ...compliant(), windowMs: 60_000 };
  short.sources.set('checkout-access', { events: 10, missing: {} });
  assert.deepEqual(driftOf(acme, short), []);
  short.sources.set('checkout-access', { events: 9, missing: {} });
  assert.deepEqual(
    driftOf(acme, short).map((drift) => drift.kind),
    ['low_volume'],
  );
});
