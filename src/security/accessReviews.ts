import { randomBytes } from 'node:crypto';
import { MeshlogError } from '../errors.js';
import { scrubText, scrubValue } from '../observability/credentialScrubber.js';
import type { AuditStore } from '../storage/stores/auditStore.js';
import { lengthMs, periodAt } from './accessReviewConfig.js';
import { populationSha256, replayReviews, reviewActions, signOffStatement, statementBytes } from './accessReviewRecords.js';
import type { AccessReview, Ed25519Signature, ReviewItem, ReviewStart, ReviewView } from '../api/accessReviews.js';
import type { ApiKeys } from './apiKeys.js';
import type { AuditTrail } from './auditTrail.js';
import { holdsRole, holdsTenants, requireWithinGrants, sees } from './grants.js';
import { anyTenant, type Identity } from './identity.js';
import type { UserRegistry } from './userRegistry.js';

export interface AccessReviewDeps {
  auditStore: AuditStore;
  audit: AuditTrail;
  keys: ApiKeys;
  users: UserRegistry;
  /** UI sessions of revoked keys end with them. */
  endSessionsOf?: (identityIds: string[], reason: string) => Promise<number>;
  /** Ed25519 with meshlog's signing key (the one reports and checkpoints are signed with). */
  sign: (bytes: Buffer) => Ed25519Signature;
  config: { period: string; grace: string };
  /** Registered tenants (active); tenants named by grants are added. */
  registeredTenants: () => string[];
}

const eventsPerPage = 10_000;

/**
 * Periodic user-access reviews (SOC 2 CC6.2, CC6.3): the population of a
 * tenant's grants frozen at the start, one keep-or-revoke decision per grant
 * by an admin or auditor of that tenant who is not its holder and holds at
 * least what it grants, revocations carried out at once through the key and
 * user registries, and a sign-off signed with meshlog's Ed25519 key. Every
 * step is an audit event; the reviews are replayed from them.
 */
export class AccessReviews {
  /** Changes run one at a time: each is checked against the replay of every event before it. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AccessReviewDeps) {}

  async all(): Promise<AccessReview[]> {
    const events = [];
    for (let from = 0; ; from += eventsPerPage) {
      const page = await this.deps.auditStore.events({
        sinceNs: 0n,
        action: 'access_review.',
        limit: eventsPerPage,
        oldestFirstFrom: from,
      });
      events.push(...page);
      if (page.length < eventsPerPage) break;
    }
    return replayReviews(events);
  }

  /** Reviews of the tenants the identity holds, newest first. */
  async list(identity: Identity, filter: { tenant?: string; state?: string }): Promise<ReviewView[]> {
    return (await this.all())
      .filter(
        (review) =>
          holdsTenants(identity, [review.tenant]) &&
          (!filter.tenant || review.tenant === filter.tenant) &&
          (!filter.state || review.state === filter.state),
      )
      .reverse()
      .map((review) => this.viewFor(identity, review));
  }

  async show(identity: Identity, id: string): Promise<ReviewView> {
    return this.viewFor(identity, await this.visible(identity, id));
  }

  /** Starts a review of the tenant's grants now (on demand, or by the schedule with no identity). */
  start(identity: Identity | undefined, tenant: string, remoteAddress?: string): Promise<string> {
    return this.serially(async () => {
      if (identity) {
        await this.refusedAs(reviewActions.start, identity, tenant, tenant, remoteAddress, () => this.requireReviewer(identity, tenant));
        const open = (await this.all()).find((review) => review.tenant === tenant && review.state !== 'signed_off');
        if (open)
          throw new MeshlogError(
            'ML_CONFLICT',
            `review ${open.review} of tenant "${tenant}" is still open: finish and sign it off first (meshlog access-review show ${open.review})`,
          );
      }
      const now = Date.now();
      const period = periodAt(this.deps.config.period, now);
      const items = this.population(tenant);
      const start: ReviewStart = {
        review: `ar-${randomBytes(6).toString('hex')}`,
        tenant,
        period: { from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() },
        due: new Date(period.to + lengthMs(this.deps.config.grace)).toISOString(),
        trigger: identity ? 'on_demand' : 'schedule',
        started_at: new Date(now).toISOString(),
        items,
        population_sha256: populationSha256(items),
      };
      // The trail scrubs what it stores; the population's hash is of what is stored.
      const stored = scrubValue(start);
      stored.population_sha256 = populationSha256(stored.items);
      await this.deps.audit.record({
        action: reviewActions.start,
        outcome: 'success',
        actor: identity,
        remoteAddress,
        tenant,
        target: stored.review,
        detail: stored as unknown as Record<string, unknown>,
      });
      return stored.review;
    });
  }

  /** Starts this period's review of every tenant that has none yet (the schedule). */
  async startDue(): Promise<string[]> {
    const current = new Date(periodAt(this.deps.config.period, Date.now()).from).toISOString();
    const reviewed = new Set((await this.all()).filter((review) => review.period.from === current).map((review) => review.tenant));
    const started: string[] = [];
    for (const tenant of this.tenants()) {
      if (reviewed.has(tenant)) continue;
      await this.start(undefined, tenant);
      started.push(tenant);
    }
    return started;
  }

  decide(
    identity: Identity,
    id: string,
    itemId: string,
    decision: 'keep' | 'revoke',
    comment: string,
    remoteAddress?: string,
  ): Promise<ReviewView> {
    return this.serially(async () => {
      const review = await this.visible(identity, id);
      const item = review.items.find((candidate) => candidate.id === itemId);
      if (!item) throw new MeshlogError('ML_NOT_FOUND', `review ${id} has no item "${itemId}" (items are key:<id> and user:<name>)`);
      await this.refusedAs(reviewActions.decide, identity, review.tenant, `${review.review}/${itemId}`, remoteAddress, () => {
        this.requireReviewer(identity, review.tenant);
        if (review.state === 'signed_off') throw new MeshlogError('ML_CONFLICT', `review ${id} is signed off: its decisions are final`);
        if (review.decisions[itemId])
          throw new MeshlogError(
            'ML_CONFLICT',
            `${itemId} was already decided (${review.decisions[itemId].decision} by ${review.decisions[itemId].by.name})`,
          );
        const why = this.whyNot(identity, item);
        if (why) throw new MeshlogError('ML_FORBIDDEN', why);
      });
      const revoked = decision === 'revoke' ? await this.revoke(identity, review, item, remoteAddress) : { keys: [], user: null };
      await this.deps.audit.record({
        action: reviewActions.decide,
        outcome: 'success',
        actor: identity,
        remoteAddress,
        tenant: review.tenant,
        target: `${review.review}/${itemId}`,
        detail: { review: review.review, item: itemId, decision, comment: scrubText(comment), at: new Date().toISOString(), revoked },
      });
      return this.show(identity, id);
    });
  }

  signOff(identity: Identity, id: string, comment: string, remoteAddress?: string): Promise<ReviewView> {
    return this.serially(async () => {
      const review = await this.visible(identity, id);
      await this.refusedAs(reviewActions.signOff, identity, review.tenant, review.review, remoteAddress, () => {
        this.requireReviewer(identity, review.tenant);
        if (review.state === 'signed_off')
          throw new MeshlogError('ML_CONFLICT', `review ${id} is already signed off by ${review.sign_off!.statement.signed_off_by.name}`);
        const undecided = review.items.filter((item) => !review.decisions[item.id]).map((item) => item.id);
        if (undecided.length > 0)
          throw new MeshlogError(
            'ML_CONFLICT',
            `review ${id} has ${undecided.length} undecided item(s): ${undecided.slice(0, 10).join(', ')}; decide each (keep or revoke) before signing off`,
          );
      });
      const statement = scrubValue(
        signOffStatement(review, { id: identity.id, name: scrubText(identity.name) }, new Date().toISOString(), scrubText(comment)),
      );
      const signature = this.deps.sign(statementBytes(statement));
      await this.deps.audit.record({
        action: reviewActions.signOff,
        outcome: 'success',
        actor: identity,
        remoteAddress,
        tenant: review.tenant,
        target: review.review,
        detail: { review: review.review, statement, ed25519_signature: signature },
      });
      return this.show(identity, id);
    });
  }

  /** Tenants that get a scheduled review: the registered ones and every tenant a grant names. */
  tenants(): string[] {
    const named = [
      ...this.deps.keys.list().filter((key) => key.state === 'active'),
      ...this.deps.users.list().filter((user) => user.state === 'active'),
    ].flatMap((grant) => grant.tenants);
    return [...new Set([...this.deps.registeredTenants(), ...named])]
      .filter((tenant) => tenant !== anyTenant && !tenant.startsWith('_'))
      .sort();
  }

  /** Every active key and user that reaches the tenant (`*` grants included), as they stand now. */
  private population(tenant: string): ReviewItem[] {
    const reaches = (tenants: string[]) => tenants.includes(tenant) || tenants.includes(anyTenant);
    const users = this.deps.users.list();
    const keys = this.deps.keys.list();
    const ownerOf = (keyId: string) => users.find((user) => user.key_ids.includes(keyId));
    const keyItems = keys
      .filter((key) => key.state === 'active' && reaches(key.tenants))
      .map((key): ReviewItem => {
        const owner = ownerOf(key.id);
        return {
          id: `key:${key.id}`,
          kind: 'api_key',
          name: key.name,
          roles: key.roles,
          tenants: key.tenants,
          created_at: key.created_at,
          created_by: key.created_by,
          last_used_at: key.last_used_at,
          expires_at: key.expires_at,
          principals: [`key:${key.id}`, ...(owner ? [`user:${owner.name}`] : [])],
        };
      });
    const userItems = users
      .filter((user) => user.state === 'active' && reaches(user.tenants))
      .map((user): ReviewItem => {
        const used = keys
          .filter((key) => user.key_ids.includes(key.id) && key.last_used_at !== null)
          .map((key) => key.last_used_at!)
          .sort();
        return {
          id: `user:${user.name}`,
          kind: 'user',
          name: user.email ? `${user.name} <${user.email}>` : user.name,
          roles: user.roles,
          tenants: user.tenants,
          created_at: user.created_at,
          created_by: user.created_by,
          last_used_at: used.at(-1) ?? null,
          expires_at: null,
          principals: [`user:${user.name}`, ...user.key_ids.map((keyId) => `key:${keyId}`)],
        };
      });
    return [...userItems, ...keyItems];
  }

  /** Who the identity is among grants: its key, and the user it was issued to or signed in as. */
  private principalsOf(identity: Identity): Set<string> {
    const own = new Set<string>([`key:${identity.id}`]);
    for (const user of this.deps.users.list()) if (this.deps.users.isUser(user, identity)) own.add(`user:${user.name}`);
    return own;
  }

  /** Why the identity may not decide the item, or undefined when it may. */
  private whyNot(identity: Identity, item: ReviewItem): string | undefined {
    if (identity.kind === 'admin_token')
      return 'the shared bootstrap token decides no review item: decide with a named admin or auditor key';
    const own = this.principalsOf(identity);
    if (item.principals.some((principal) => own.has(principal)))
      return `${identity.name} holds ${item.id}: nobody reviews their own grant (segregation of duties); another admin or auditor of the tenant decides it`;
    try {
      requireWithinGrants(identity, { roles: item.roles as Identity['roles'], tenants: item.tenants });
    } catch (error) {
      return `${(error as Error).message}; a reviewer decides only grants within their own roles and tenants`;
    }
    return undefined;
  }

  private requireReviewer(identity: Identity, tenant: string): void {
    if (!holdsRole(identity, 'admin') && !holdsRole(identity, 'auditor'))
      throw new MeshlogError(
        'ML_FORBIDDEN',
        `an access review needs the admin or auditor role; ${identity.name} has ${identity.roles.join(', ') || 'none'}`,
      );
    if (!holdsTenants(identity, [tenant])) throw new MeshlogError('ML_FORBIDDEN', `${identity.name} may not act on tenant "${tenant}"`);
  }

  /** A review of a tenant the identity does not hold does not exist for it. */
  private async visible(identity: Identity, id: string): Promise<AccessReview> {
    const review = (await this.all()).find((candidate) => candidate.review === id);
    if (!review || !holdsTenants(identity, [review.tenant])) throw new MeshlogError('ML_NOT_FOUND', `no access review ${id}`);
    return review;
  }

  /** Runs the checks; a refusal is an audit event of the step's kind (outcome denied) before it is answered. */
  private async refusedAs(
    action: string,
    identity: Identity,
    tenant: string,
    target: string,
    remoteAddress: string | undefined,
    checks: () => void,
  ): Promise<void> {
    try {
      checks();
    } catch (error) {
      if (error instanceof MeshlogError && error.code === 'ML_FORBIDDEN') {
        // A tenant the identity does not hold is not named in its tenant's trail: the refusal belongs to the identity's own.
        await this.deps.audit.record({
          action,
          outcome: 'denied',
          actor: identity,
          remoteAddress,
          tenant: holdsTenants(identity, [tenant]) ? tenant : undefined,
          target,
          detail: { reason: error.message },
        });
      }
      throw error;
    }
  }

  /** Revokes the item's grant through the registries' own paths, each audited as the revocation it is. */
  private async revoke(
    identity: Identity,
    review: AccessReview,
    item: ReviewItem,
    remoteAddress?: string,
  ): Promise<{ keys: string[]; user: string | null }> {
    const because = { access_review: review.review, item: item.id };
    if (item.kind === 'api_key') {
      const id = item.id.slice('key:'.length);
      const current = this.deps.keys.list().find((key) => key.id === id);
      if (!current || current.state !== 'active') return { keys: [], user: null };
      const revoked = await this.deps.keys.revoke(id, identity.name);
      const endedSessions = (await this.deps.endSessionsOf?.([id], 'key revoked by access review')) ?? 0;
      await this.deps.audit.record({
        action: 'keys.revoke',
        outcome: 'success',
        actor: identity,
        remoteAddress,
        target: id,
        tenant: review.tenant,
        detail: { name: revoked.name, ended_sessions: endedSessions, ...because },
      });
      return { keys: [id], user: null };
    }
    const name = item.id.slice('user:'.length);
    const current = this.deps.users.list().find((user) => user.name === name);
    if (!current || current.state !== 'active') return { keys: [], user: null };
    const { user, revokedKeys } = await this.deps.users.setState(name, 'disabled', identity.name);
    const endedSessions = (await this.deps.endSessionsOf?.(user.key_ids, 'user disabled by access review')) ?? 0;
    await this.deps.audit.record({
      action: 'users.disable',
      outcome: 'success',
      actor: identity,
      remoteAddress,
      target: name,
      tenant: review.tenant,
      detail: { revoked_keys: revokedKeys, ended_sessions: endedSessions, ...because },
    });
    return { keys: revokedKeys, user: name };
  }

  private viewFor(identity: Identity, review: AccessReview): ReviewView {
    return {
      ...review,
      items: review.items.map(({ principals: _principals, tenants, ...item }) => {
        const shown = tenants.filter((tenant) => tenant === anyTenant || sees(identity, { tenants: [tenant] }));
        const whyNot =
          review.decisions[item.id] || review.state === 'signed_off'
            ? 'decided'
            : this.whyNot(identity, { ...item, tenants, principals: _principals });
        return {
          ...item,
          tenants: shown,
          other_tenants: tenants.length - shown.length,
          decidable: whyNot === undefined,
          ...(whyNot && whyNot !== 'decided' ? { why_not: whyNot } : {}),
        };
      }),
    };
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
