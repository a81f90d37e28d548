import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

let meshlog: RunningMeshlog;

interface Review {
  review: string;
  tenant: string;
  trigger: string;
  period: { from: string; to: string };
  due: string;
  started_at: string;
  items: { id: string }[];
}

async function api(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${meshlog.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json', ...init.headers },
  });
  assert.ok(response.ok, `${path}: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as Record<string, unknown>;
}

const reviewsOf = async (tenant: string) => ((await api(`/api/v1/access-reviews?tenant=${tenant}`)).reviews as Review[]).reverse();

before(async () => {
  // Ten-second periods with a two-second grace, checked every second: a review falls overdue while the test watches.
  meshlog = await startMeshlog({
    env: {
      MESHLOG_ACCESS_REVIEW_AUTO_START: 'true',
      MESHLOG_ACCESS_REVIEW_PERIOD: '10s',
      MESHLOG_ACCESS_REVIEW_GRACE: '2s',
      MESHLOG_ACCESS_REVIEW_CHECK_INTERVAL_MS: '1000',
    },
  });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('the schedule starts a review of every tenant each period, and one not signed off by its due date is a finding of the SOC 2 report', async () => {
  const reader = (await api('/api/v1/admin/keys', {
    method: 'POST',
    body: JSON.stringify({ name: 'reader', roles: ['analyst'], tenants: ['acme'] }),
  })) as { id: string };
  const first = await waitFor(async () => (await reviewsOf('acme'))[0], { what: 'the scheduled review of tenant acme' });
  assert.equal(first.trigger, 'schedule');
  assert.ok(first.items.some((item) => item.id === `key:${reader.id}`));
  assert.equal(Date.parse(first.due) - Date.parse(first.period.to), 2000);
  const next = await waitFor(async () => (await reviewsOf('acme')).find((review) => review.period.from === first.period.to), {
    what: 'the next period’s scheduled review',
  });
  assert.equal(next.trigger, 'schedule');

  // A closed window that holds the first review's due date and ends between two scheduled starts.
  const to = Date.parse(first.due) + 1000;
  await waitFor(() => Date.now() > to + 2000, { what: 'the window to close' });
  const path = `/api/v1/reports/soc2?from=${new Date(Date.parse(first.started_at) - 1000).toISOString()}&to=${new Date(to).toISOString()}&tenant=acme`;
  const report = await api(path);
  const section = (
    report.sections as { id: string; status: string; reason: string; data: { findings: { review: string; finding: string }[] } }[]
  ).find((candidate) => candidate.id === 'access_review')!;
  assert.equal(section.status, 'fail');
  assert.match(section.reason, new RegExp(`overdue: ${first.review} \\(acme, due ${first.due}\\)`));
  assert.deepEqual(
    section.data.findings.map((finding) => finding.review),
    [first.review],
  );
  assert.match(section.data.findings[0]!.finding, /^not signed off by /);

  // Regenerated later, the closed window gives the same evidence, though new reviews started since.
  await waitFor(async () => (await reviewsOf('acme')).length >= 3, { what: 'a third scheduled review' });
  const again = await api(path);
  assert.deepEqual(
    (again.sections as { id: string }[]).find((candidate) => candidate.id === 'access_review'),
    section,
  );
  assert.equal((again.period_evidence as { sha256: string }).sha256, (report.period_evidence as { sha256: string }).sha256);

  // Signed off after its due date, the review stays a finding: signed off late.
  const reviewer = (await api('/api/v1/admin/keys', {
    method: 'POST',
    body: JSON.stringify({ name: 'late reviewer', roles: ['admin'], tenants: ['acme'] }),
  })) as { key: string };
  const asReviewer = { headers: { authorization: `Bearer ${reviewer.key}` } };
  await api(`/api/v1/access-reviews/${first.review}/items/${encodeURIComponent(`key:${reader.id}`)}/decision`, {
    ...asReviewer,
    method: 'POST',
    body: JSON.stringify({ decision: 'keep' }),
  });
  await api(`/api/v1/access-reviews/${first.review}/sign-off`, { ...asReviewer, method: 'POST', body: JSON.stringify({}) });
  const later = await api(`/api/v1/reports/soc2?from=${new Date(Date.parse(first.started_at) - 1000).toISOString()}&tenant=acme`);
  const findings = (later.sections as { id: string; data: { findings: { review: string; finding: string }[] } }[]).find(
    (candidate) => candidate.id === 'access_review',
  )!.data.findings;
  assert.match(findings.find((finding) => finding.review === first.review)!.finding, /^signed off late, on /);
});
