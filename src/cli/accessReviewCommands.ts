import type { AccessReviewResponse, AccessReviewsResponse, ReviewView } from '../api/accessReviews.js';
import { callServer, type ServerFlags } from './serverClient.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);
type OutputFlags = ServerFlags & { output: string };

/** The server's refusal, with where to look next (the server's own reason names the role, tenant or item). */
async function reviewCall<T>(flags: ServerFlags, method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await callServer<T>(flags, method, path, body);
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('server answered 404'))
      throw new Error(
        `${message}\nmeshlog access-review list shows the reviews this token may see; meshlog access-review show <id> shows their item ids (key:<id>, user:<name>)`,
      );
    throw error;
  }
}

function printReview(review: ReviewView): void {
  print(
    `review ${review.review}  tenant ${review.tenant}  period ${review.period.from} – ${review.period.to}  due ${review.due}  ${review.state}`,
  );
  print(
    `started ${review.started_at} by ${review.started_by.name || 'the schedule'}; population ${review.items.length} grant(s), sha256 ${review.population_sha256}`,
  );
  print(['ITEM', 'NAME', 'ROLES', 'TENANTS', 'CREATED', 'LAST USED', 'EXPIRES', 'DECISION', 'BY', 'COMMENT'].join('\t'));
  for (const item of review.items) {
    const decision = review.decisions[item.id];
    const tenants = [...item.tenants, ...(item.other_tenants > 0 ? [`+${item.other_tenants} other`] : [])].join(',');
    print(
      [
        item.id,
        item.name,
        item.roles.join(','),
        tenants,
        item.created_at,
        item.last_used_at ?? 'never',
        item.expires_at ?? '-',
        decision?.decision ?? (item.decidable ? 'pending' : 'pending (not yours to decide)'),
        decision?.by.name ?? '-',
        decision?.comment || '-',
      ].join('\t'),
    );
  }
  const signOff = review.sign_off;
  if (signOff)
    print(
      `signed off ${signOff.statement.signed_off_at} by ${signOff.statement.signed_off_by.name}; Ed25519 ${signOff.ed25519_signature.value} (key ${signOff.ed25519_signature.key})`,
    );
}

export async function accessReviewStart(flags: OutputFlags & { tenant: string }): Promise<void> {
  const { review } = await reviewCall<AccessReviewResponse>(flags, 'POST', '/api/v1/access-reviews', { tenant: flags.tenant });
  if (flags.output === 'json') return print(JSON.stringify(review, null, 2));
  printReview(review);
  print(`decide each item: meshlog access-review decide ${review.review} <item> keep|revoke [--comment …]`);
}

export async function accessReviewList(flags: OutputFlags & { tenant?: string; state?: string }): Promise<void> {
  const query = new URLSearchParams(
    Object.entries({ tenant: flags.tenant, state: flags.state }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const { reviews } = await reviewCall<AccessReviewsResponse>(flags, 'GET', `/api/v1/access-reviews${query.size > 0 ? `?${query}` : ''}`);
  if (flags.output === 'json') return print(JSON.stringify(reviews, null, 2));
  print(['REVIEW', 'TENANT', 'PERIOD', 'DUE', 'STATE', 'ITEMS', 'DECIDED', 'SIGNED OFF BY'].join('\t'));
  for (const review of reviews) {
    print(
      [
        review.review,
        review.tenant,
        `${review.period.from}/${review.period.to}`,
        review.due,
        review.state,
        review.items.length,
        Object.keys(review.decisions).length,
        review.sign_off?.statement.signed_off_by.name ?? '-',
      ].join('\t'),
    );
  }
}

export async function accessReviewShow(id: string, flags: OutputFlags): Promise<void> {
  const { review } = await reviewCall<AccessReviewResponse>(flags, 'GET', `/api/v1/access-reviews/${encodeURIComponent(id)}`);
  if (flags.output === 'json') return print(JSON.stringify(review, null, 2));
  printReview(review);
}

export async function accessReviewDecide(
  id: string,
  item: string,
  decision: string,
  flags: OutputFlags & { comment?: string },
): Promise<void> {
  if (!/^(key|user):./.test(item))
    throw new Error(`"${item}" is not an item id: items are key:<id> or user:<name> (meshlog access-review show ${id} lists them)`);
  const { review } = await reviewCall<AccessReviewResponse>(
    flags,
    'POST',
    `/api/v1/access-reviews/${encodeURIComponent(id)}/items/${encodeURIComponent(item)}/decision`,
    { decision, comment: flags.comment ?? '' },
  );
  if (flags.output === 'json') return print(JSON.stringify(review, null, 2));
  const made = review.decisions[item]!;
  const revoked = made.revoked.user
    ? `; user ${made.revoked.user} disabled`
    : made.revoked.keys.length > 0
      ? `; revoked key(s) ${made.revoked.keys.join(', ')}`
      : '';
  print(`${item}: ${made.decision}${revoked}`);
  const left = review.items.length - Object.keys(review.decisions).length;
  print(left > 0 ? `${left} item(s) left to decide` : `every item is decided: meshlog access-review sign-off ${review.review}`);
}

export async function accessReviewSignOff(id: string, flags: OutputFlags & { comment?: string }): Promise<void> {
  const { review } = await reviewCall<AccessReviewResponse>(flags, 'POST', `/api/v1/access-reviews/${encodeURIComponent(id)}/sign-off`, {
    comment: flags.comment ?? '',
  });
  if (flags.output === 'json') return print(JSON.stringify(review, null, 2));
  printReview(review);
}
