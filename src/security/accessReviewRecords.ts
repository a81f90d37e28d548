import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type {
  AccessReview,
  Ed25519Signature,
  ReviewActor,
  ReviewDecision,
  ReviewItem,
  ReviewStart,
  SignOffStatement,
} from '../api/accessReviews.js';

/**
 * Access reviews live in the audit trail only: a review is the replay of its
 * `access_review.*` events (start with the frozen population, one decision
 * per item, the signed sign-off). The API, the UI and the SOC 2 report all
 * read the same replay, so the evidence is what was sealed into the chain.
 */

export const reviewActions = { start: 'access_review.start', decide: 'access_review.decide', signOff: 'access_review.sign_off' } as const;

/** The stored form of an audit event the replay reads (a subset of StoredAuditEvent). */
export interface ReviewEvent {
  action: string;
  outcome: string;
  actor_id: string;
  actor_name: string;
  detail: string;
}

export const populationSha256 = (items: ReviewItem[]): string =>
  createHash('sha256')
    .update(canonicalize(items) ?? '')
    .digest('hex');

/** The exact bytes a sign-off signature covers. */
export const statementBytes = (statement: SignOffStatement): Buffer => Buffer.from(canonicalize(statement) ?? '', 'utf8');

/** Reviews from their events, oldest first; refused attempts (outcome other than success) change nothing. */
export function replayReviews(events: ReviewEvent[]): AccessReview[] {
  const reviews = new Map<string, AccessReview>();
  for (const event of events) {
    if (event.outcome !== 'success') continue;
    let detail: Record<string, unknown>;
    try {
      detail = JSON.parse(event.detail) as Record<string, unknown>;
    } catch {
      continue;
    }
    const actor = { id: event.actor_id, name: event.actor_name };
    if (event.action === reviewActions.start) {
      const start = detail as unknown as ReviewStart;
      reviews.set(start.review, { ...start, started_by: actor, decisions: {}, sign_off: null, state: 'open' });
      continue;
    }
    const review = reviews.get(String(detail.review));
    if (!review) continue;
    if (event.action === reviewActions.decide) {
      const decision = detail as unknown as ReviewDecision & { review: string };
      review.decisions[decision.item] = {
        item: decision.item,
        decision: decision.decision,
        comment: decision.comment,
        by: actor,
        at: decision.at,
        revoked: decision.revoked,
      };
    } else if (event.action === reviewActions.signOff) {
      review.sign_off = {
        statement: detail.statement as SignOffStatement,
        ed25519_signature: detail.ed25519_signature as Ed25519Signature,
      };
    }
  }
  for (const review of reviews.values())
    review.state = review.sign_off ? 'signed_off' : review.items.every((item) => review.decisions[item.id]) ? 'decided' : 'open';
  return [...reviews.values()];
}

/** The statement a sign-off signs: the review, its population's hash and every decision. */
export function signOffStatement(review: AccessReview, by: ReviewActor, at: string, comment: string): SignOffStatement {
  return {
    review: review.review,
    tenant: review.tenant,
    period: review.period,
    due: review.due,
    population_sha256: review.population_sha256,
    decisions: review.items.map((item) => {
      const decision = review.decisions[item.id]!;
      return {
        item: item.id,
        kind: item.kind,
        name: item.name,
        decision: decision.decision,
        comment: decision.comment,
        by: decision.by,
        at: decision.at,
      };
    }),
    signed_off_by: by,
    signed_off_at: at,
    comment,
  };
}
