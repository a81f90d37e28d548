import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import type { PageProps } from '../../shell/page';
import { currentTenant } from '../../shell/tenant';
import { ActionOutcome, useAdminAction } from '../admin/adminAction';
import { useApi } from '../panels/useApi';
import '../panels/panels.css';
import type { AccessReviewResponse, AccessReviewsResponse, ReviewView } from '@api/accessReviews';

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : 'never');
/** A period's last day: its end is exclusive (a quarter ends at midnight of the next one's first day). */
const lastDay = (iso: string) => new Date(Date.parse(iso) - 1).toISOString().slice(0, 10);

/**
 * The periodic access review: the open review of a tenant with a keep or
 * revoke button per grant (a revoke takes effect at once), then the
 * sign-off, which the server signs with its Ed25519 key. Grants the reader
 * holds, or that reach beyond the reader's roles and tenants, say why they
 * are someone else's to decide.
 */
export function AccessReviewsPage(_props: PageProps) {
  const reviews = useApi<AccessReviewsResponse>('/api/v1/access-reviews');
  const { message, act } = useAdminAction(reviews.reload);
  const [tenant, setTenant] = useState(currentTenant() ?? 'default');
  const [comments, setComments] = useState<Record<string, string>>({});
  const [signOffComment, setSignOffComment] = useState('');
  const all = reviews.data?.reviews ?? [];
  const open = all.find((review) => review.state !== 'signed_off');

  const start = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const { review } = await api<AccessReviewResponse>('/api/v1/access-reviews', { method: 'POST', body: { tenant } });
      return `Review ${review.review} of ${review.tenant} started with ${review.items.length} grant(s).`;
    });
  };
  const decide = (review: ReviewView, item: ReviewView['items'][number], decision: 'keep' | 'revoke') =>
    void act(async () => {
      if (
        decision === 'revoke' &&
        !confirm(
          `Revoke ${item.name}? ${item.kind === 'user' ? 'The user is disabled and every key issued to them revoked' : 'The key stops working'} now.`,
        )
      )
        return undefined;
      await api(`/api/v1/access-reviews/${encodeURIComponent(review.review)}/items/${encodeURIComponent(item.id)}/decision`, {
        method: 'POST',
        body: { decision, comment: comments[item.id] ?? '' },
      });
      return `${item.name}: ${decision}${decision === 'revoke' ? ' (revoked now)' : ''}.`;
    });
  const signOff = (review: ReviewView) =>
    void act(async () => {
      await api(`/api/v1/access-reviews/${encodeURIComponent(review.review)}/sign-off`, {
        method: 'POST',
        body: { comment: signOffComment },
      });
      setSignOffComment('');
      return `Review ${review.review} signed off.`;
    });

  return (
    <div class="panels">
      <header>
        <h1>Access reviews</h1>
      </header>
      <section class="panel" aria-label="start an access review">
        <h2>
          Start a review <span class="dim">(the tenant's keys and users are frozen as they stand now)</span>
        </h2>
        <form class="inline" onSubmit={start}>
          <label>
            Tenant
            <input value={tenant} onInput={(e) => setTenant(e.currentTarget.value)} required aria-label="review tenant" size={16} />
          </label>
          <button type="submit" class="primary" disabled={!tenant || open?.tenant === tenant}>
            Start review
          </button>
        </form>
        <ActionOutcome message={message} />
      </section>
      {reviews.error && <p class="error">{reviews.error}</p>}
      {open && (
        <section class="panel" aria-label="open access review">
          <h2>
            Review {open.review} of {open.tenant}{' '}
            <span class="dim">
              period {day(open.period.from)} – {lastDay(open.period.to)}, due {open.due.slice(0, 16).replace('T', ' ')} UTC,{' '}
              {Object.keys(open.decisions).length} of {open.items.length} decided
            </span>
          </h2>
          <table class="grid" aria-label="grants under review">
            <thead>
              <tr>
                <th>Grant</th>
                <th>Roles</th>
                <th>Tenants</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Expires</th>
                <th>Comment</th>
                <th>Decision</th>
              </tr>
            </thead>
            <tbody>
              {open.items.map((item) => {
                const decided = open.decisions[item.id];
                return (
                  <tr key={item.id} data-item={item.id}>
                    <td>
                      {item.name} <span class="dim">{item.id}</span>
                    </td>
                    <td>{item.roles.join(', ')}</td>
                    <td>
                      {item.tenants.join(', ')}
                      {item.other_tenants > 0 && <span class="dim"> +{item.other_tenants} other</span>}
                    </td>
                    <td>
                      {day(item.created_at)} <span class="dim">by {item.created_by}</span>
                    </td>
                    <td>{day(item.last_used_at)}</td>
                    <td>{item.expires_at ? day(item.expires_at) : <span class="dim">never</span>}</td>
                    <td>
                      {decided ? (
                        decided.comment || <span class="dim">none</span>
                      ) : (
                        <input
                          value={comments[item.id] ?? ''}
                          onInput={(e) => setComments({ ...comments, [item.id]: e.currentTarget.value })}
                          aria-label={`comment on ${item.id}`}
                          size={18}
                          disabled={!item.decidable}
                        />
                      )}
                    </td>
                    <td>
                      {decided ? (
                        <span class={`state ${decided.decision === 'keep' ? 'active' : 'revoked'}`}>
                          {decided.decision === 'keep' ? 'kept' : 'revoked'} <span class="dim">by {decided.by.name}</span>
                        </span>
                      ) : item.decidable ? (
                        <>
                          <button type="button" onClick={() => decide(open, item, 'keep')} aria-label={`keep ${item.id}`}>
                            Keep
                          </button>{' '}
                          <button type="button" onClick={() => decide(open, item, 'revoke')} aria-label={`revoke ${item.id}`}>
                            Revoke
                          </button>
                        </>
                      ) : (
                        <span class="dim" title={item.why_not}>
                          not yours to decide
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <form
            class="inline"
            onSubmit={(event) => {
              event.preventDefault();
              signOff(open);
            }}
          >
            <label>
              Conclusion
              <input
                value={signOffComment}
                onInput={(e) => setSignOffComment(e.currentTarget.value)}
                size={40}
                aria-label="sign-off comment"
              />
            </label>
            <button
              type="submit"
              class="primary"
              disabled={open.state !== 'decided'}
              title={open.state === 'decided' ? 'signed with meshlog’s Ed25519 key' : 'decide every grant first'}
            >
              Sign off
            </button>
          </form>
        </section>
      )}
      <section class="panel" aria-label="access reviews">
        <h2>Reviews</h2>
        {all.length === 0 && !reviews.loading && <p class="empty">No access review yet.</p>}
        {all.length > 0 && (
          <table class="grid" aria-label="access review history">
            <thead>
              <tr>
                <th>Review</th>
                <th>Tenant</th>
                <th>Period</th>
                <th>Due</th>
                <th>State</th>
                <th>Revoked</th>
                <th>Signed off</th>
              </tr>
            </thead>
            <tbody>
              {all.map((review) => (
                <tr key={review.review}>
                  <td>{review.review}</td>
                  <td>{review.tenant}</td>
                  <td>
                    {day(review.period.from)} – {lastDay(review.period.to)}
                  </td>
                  <td>{review.due.slice(0, 10)}</td>
                  <td>
                    <span class={`state ${review.state === 'signed_off' ? 'active' : 'pending'}`}>{review.state.replace('_', ' ')}</span>
                  </td>
                  <td>{Object.values(review.decisions).filter((decision) => decision.decision === 'revoke').length}</td>
                  <td class="wrap">
                    {review.sign_off ? (
                      <>
                        {review.sign_off.statement.signed_off_by.name}{' '}
                        <span class="dim">{review.sign_off.statement.signed_off_at.slice(0, 16).replace('T', ' ')}</span>
                        <br />
                        <code class="dim" title={review.sign_off.ed25519_signature.key} aria-label={`signature of ${review.review}`}>
                          Ed25519 {review.sign_off.ed25519_signature.value.slice(0, 24)}…
                        </code>
                      </>
                    ) : (
                      <span class="dim">not yet</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
