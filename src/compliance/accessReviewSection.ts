import { verify } from 'node:crypto';
import { parseVerifierKey } from '../integrity/signedNote.js';
import type { AccessReview } from '../api/accessReviews.js';
import { replayReviews, statementBytes } from '../security/accessReviewRecords.js';
import { anyTenant } from '../security/identity.js';
import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import { auditDetail } from './accessSection.js';
import { isoOfNs, type ReportSection, type SectionInput } from './reportModel.js';

const eventsPerPage = 10_000;

/** Whether a sign-off's Ed25519 signature verifies over its statement, and whether by this server's key. */
function checkSignOff(review: AccessReview, trustedKey: string): { valid: boolean; by_this_server_key: boolean } {
  const signOff = review.sign_off!;
  try {
    const { publicKey } = parseVerifierKey(signOff.ed25519_signature.key);
    return {
      valid: verify(null, statementBytes(signOff.statement), publicKey, Buffer.from(signOff.ed25519_signature.value, 'base64')),
      by_this_server_key: signOff.ed25519_signature.key === trustedKey,
    };
  } catch {
    return { valid: false, by_this_server_key: false };
  }
}

/**
 * Access reviews (CC6.2, CC6.3): every review of the period with its frozen
 * population, each decision, the revocations that followed and the signed
 * sign-off; a review past its due date without a sign-off is a finding.
 * Replayed from the access_review.* events up to the period's end, so a
 * closed period reads the same whenever it is generated.
 */
export async function accessReviewSection({ sources, period, audit }: SectionInput): Promise<ReportSection> {
  const events: StoredAuditEvent[] = [];
  for (let from = 0; ; from += eventsPerPage) {
    const page = await sources.auditStore.events({
      sinceNs: 0n,
      untilNs: period.toNs,
      action: 'access_review.',
      limit: eventsPerPage,
      oldestFirstFrom: from,
    });
    events.push(...page);
    if (page.length < eventsPerPage) break;
  }
  const fromIso = isoOfNs(period.fromNs);
  const toIso = isoOfNs(period.toNs);
  // A review belongs to the period when its review period overlaps it, or it was still unsigned when the period began.
  const reviews = replayReviews(events).filter(
    (review) =>
      (!period.tenant || review.tenant === period.tenant) &&
      ((review.period.from < toIso && review.period.to > fromIso) ||
        !review.sign_off ||
        review.sign_off.statement.signed_off_at >= fromIso),
  );
  // In a tenant's report, other tenants of a grant are counted, not named.
  const shownTenants = (tenants: string[]) =>
    period.tenant ? tenants.filter((tenant) => tenant === period.tenant || tenant === anyTenant) : tenants;
  const revocationEvents = audit.filter(
    (event) => (event.action === 'keys.revoke' || event.action === 'users.disable') && typeof auditDetail(event).access_review === 'string',
  );
  const listed = reviews.map((review) => {
    const decisions = Object.values(review.decisions);
    const signOff = review.sign_off;
    const overdue = review.due <= toIso && (!signOff || signOff.statement.signed_off_at > review.due);
    return {
      review: review.review,
      tenant: review.tenant,
      period: review.period,
      due: review.due,
      trigger: review.trigger,
      started_at: review.started_at,
      started_by: review.started_by.name || 'server',
      state_at_period_end: review.state,
      population: {
        sha256: review.population_sha256,
        size: review.items.length,
        items: review.items.map(({ principals: _principals, tenants, ...item }) => ({
          ...item,
          tenants: shownTenants(tenants),
          other_tenants: tenants.length - shownTenants(tenants).length,
        })),
      },
      decisions: decisions.map((decision) => ({
        item: decision.item,
        decision: decision.decision,
        comment: decision.comment,
        by: decision.by.name,
        by_id: decision.by.id,
        at: decision.at,
      })),
      kept: decisions.filter((decision) => decision.decision === 'keep').length,
      revoked: decisions.filter((decision) => decision.decision === 'revoke').length,
      undecided: review.items.length - decisions.length,
      revocations: decisions
        .filter((decision) => decision.decision === 'revoke')
        .map((decision) => ({
          item: decision.item,
          at: decision.at,
          by: decision.by.name,
          keys_revoked: decision.revoked.keys,
          user_disabled: decision.revoked.user,
          audit_events: revocationEvents
            .filter((event) => auditDetail(event).access_review === review.review && auditDetail(event).item === decision.item)
            .map((event) => `${event.time} ${event.action} ${event.target}`),
        })),
      sign_off: signOff && {
        by: signOff.statement.signed_off_by.name,
        by_id: signOff.statement.signed_off_by.id,
        at: signOff.statement.signed_off_at,
        comment: signOff.statement.comment,
        statement: signOff.statement,
        ed25519_signature: signOff.ed25519_signature,
        signature_check: checkSignOff(review, sources.signer.verifierKey),
      },
      overdue,
    };
  });
  const findings = listed
    .filter((review) => review.overdue)
    .map((review) => ({
      review: review.review,
      tenant: review.tenant,
      due: review.due,
      finding: review.sign_off
        ? `signed off late, on ${review.sign_off.at}`
        : `not signed off by ${review.due} (${review.undecided} of ${review.population.size} items undecided at the period's end)`,
    }));
  const badSignatures = listed.filter((review) => review.sign_off && !review.sign_off.signature_check.valid).map((review) => review.review);
  const base = {
    id: 'access_review',
    title: 'Access reviews: periodic review of every grant',
    criteria: ['CC6.2', 'CC6.3'],
    data: {
      reviews: listed,
      findings,
      signed_off: listed.filter((review) => review.sign_off).length,
      revocations: listed.reduce((sum, review) => sum + review.revoked, 0),
    },
  };
  const unsigned = findings.filter((finding) => finding.finding.startsWith('not signed off'));
  if (badSignatures.length > 0)
    return {
      ...base,
      status: 'fail',
      reason: `the sign-off signature of ${badSignatures.join(', ')} does not verify: the review record was altered`,
    };
  if (unsigned.length > 0)
    return {
      ...base,
      status: 'fail',
      reason: `${unsigned.length} access review(s) overdue: ${unsigned.map((finding) => `${finding.review} (${finding.tenant}, due ${finding.due})`).join(', ')}`,
    };
  if (findings.length > 0)
    return { ...base, status: 'attention', reason: `${findings.length} access review(s) signed off after their due date` };
  if (listed.length === 0)
    return {
      ...base,
      status: 'attention',
      reason: 'no access review covers this period: start one (meshlog access-review start --tenant …) or turn on access_review.auto_start',
    };
  return {
    ...base,
    status: 'pass',
    reason: `${listed.length} access review(s): ${listed.filter((review) => review.sign_off).length} signed off with valid signatures, ${base.data.revocations} grant(s) revoked, none overdue`,
  };
}
