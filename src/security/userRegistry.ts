import { MeshlogError } from '../errors.js';
import { Replica } from '../model/replica.js';
import type { StoredUser, UserStore } from '../storage/stores/userStore.js';
import type { ApiKeys, CreatedKey } from './apiKeys.js';
import { anyTenant, type Identity, type Role } from './identity.js';

/**
 * People, with the roles and tenants they may hold. Keys issued to a user
 * can never hold more than the user (no role or tenant beyond theirs), and
 * disabling the user revokes every key issued to them at once.
 */
export class UserRegistry {
  /** In a cluster: a user changed on any node (disabled, narrowed, created) is stored on every node and in effect at once. */
  readonly replica = new Replica<StoredUser>(async (user) => {
    if (JSON.stringify(this.users.get(user.name)) === JSON.stringify(user)) return;
    await this.store.save(user);
    this.users.set(user.name, user);
  });

  private constructor(
    private readonly store: UserStore,
    private readonly keys: ApiKeys,
    private readonly users: Map<string, StoredUser>,
  ) {}

  static async open(store: UserStore, keys: ApiKeys): Promise<UserRegistry> {
    return new UserRegistry(store, keys, new Map((await store.users()).map((user) => [user.name, user])));
  }

  list(): StoredUser[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async create(user: { name: string; email: string; roles: Role[]; tenants: string[] }, actor: string): Promise<StoredUser> {
    if (this.users.has(user.name)) throw new MeshlogError('ML_CONFLICT', `user "${user.name}" already exists`);
    const now = new Date().toISOString();
    const stored: StoredUser = {
      ...user,
      state: 'active',
      key_ids: [],
      created_by: actor,
      created_at: now,
      changed_by: actor,
      changed_at: now,
    };
    await this.save(stored);
    return stored;
  }

  /** A key for the user, within the user's grants (all of them unless narrowed). */
  async issueKey(
    name: string,
    grant: { roles?: Role[]; tenants?: string[]; expiresAt?: Date },
    actor: string,
  ): Promise<CreatedKey & { roles: Role[]; tenants: string[] }> {
    const user = this.active(name);
    const roles = grant.roles ?? (user.roles as Role[]);
    const tenants = grant.tenants ?? user.tenants;
    const extraRoles = roles.filter((role) => !user.roles.includes(role));
    if (extraRoles.length > 0) throw new MeshlogError('ML_FORBIDDEN', `user "${name}" does not hold the roles ${extraRoles.join(', ')}`);
    const allTenants = user.tenants.includes(anyTenant);
    const extraTenants = tenants.filter((tenant) => !allTenants && !user.tenants.includes(tenant));
    if (extraTenants.length > 0)
      throw new MeshlogError('ML_FORBIDDEN', `user "${name}" does not hold the tenants ${extraTenants.join(', ')}`);
    const created = await this.keys.create({ name: `${name} (user)`, roles, tenants, expiresAt: grant.expiresAt, createdBy: actor });
    await this.save({ ...user, key_ids: [...user.key_ids, created.id], changed_by: actor, changed_at: new Date().toISOString() });
    return { ...created, roles, tenants };
  }

  /**
   * New roles, tenants or e-mail. Narrowing revokes each active key of the
   * user that would now hold more than the user; widening widens no key.
   */
  async update(
    name: string,
    change: { email?: string; roles?: Role[]; tenants?: string[] },
    actor: string,
  ): Promise<{ user: StoredUser; before: StoredUser; revokedKeys: string[] }> {
    const before = this.users.get(name);
    if (!before) throw new MeshlogError('ML_NOT_FOUND', `no user "${name}"`);
    const user: StoredUser = { ...before, ...change, changed_by: actor, changed_at: new Date().toISOString() };
    const allTenants = user.tenants.includes(anyTenant);
    const exceeds = (key: { roles: string[]; tenants: string[] }) =>
      key.roles.some((role) => !user.roles.includes(role)) || (!allTenants && key.tenants.some((tenant) => !user.tenants.includes(tenant)));
    const owned = new Set(user.key_ids);
    const revokedKeys = this.keys
      .list()
      .filter((key) => owned.has(key.id) && key.state === 'active' && exceeds(key))
      .map((key) => key.id);
    for (const id of revokedKeys) await this.keys.revoke(id, actor);
    await this.save(user);
    return { user, before, revokedKeys };
  }

  /** Disabling revokes every key issued to the user; enabling lets new keys be issued, it restores none. */
  async setState(name: string, state: StoredUser['state'], actor: string): Promise<{ user: StoredUser; revokedKeys: string[] }> {
    const user = this.users.get(name);
    if (!user) throw new MeshlogError('ML_NOT_FOUND', `no user "${name}"`);
    const active = new Set(
      this.keys
        .list()
        .filter((key) => key.state === 'active')
        .map((key) => key.id),
    );
    const revokedKeys = state === 'disabled' ? user.key_ids.filter((id) => active.has(id)) : [];
    for (const id of revokedKeys) await this.keys.revoke(id, actor);
    const changed = { ...user, state, changed_by: actor, changed_at: new Date().toISOString() };
    await this.save(changed);
    return { user: changed, revokedKeys };
  }

  /**
   * SSO identities are checked at every sign-in and bearer token: the
   * identity provider may still vouch for someone meshlog disabled. The user
   * is matched by email, or by name against the token's subject or name claim.
   */
  refuseDisabled(identity: Identity): Identity {
    if (identity.kind !== 'oidc') return identity;
    const user = this.list().find((candidate) => candidate.state === 'disabled' && this.isUser(candidate, identity));
    if (user) throw new MeshlogError('ML_AUTH_INVALID', `user "${user.name}" is disabled`);
    return identity;
  }

  /** Whether a signed-in identity is this user: an SSO identity by email or name, or a key issued to the user. */
  isUser(user: StoredUser, identity: Identity): boolean {
    if (identity.kind === 'api_key') return user.key_ids.includes(identity.id);
    if (identity.kind !== 'oidc') return false;
    const email = user.email.toLowerCase();
    const subject = identity.id.slice('oidc:'.length);
    return (
      (email !== '' && (identity.email?.toLowerCase() === email || identity.name.toLowerCase() === email)) ||
      user.name === subject ||
      user.name === identity.name
    );
  }

  private active(name: string): StoredUser {
    const user = this.users.get(name);
    if (!user) throw new MeshlogError('ML_NOT_FOUND', `no user "${name}"`);
    if (user.state !== 'active') throw new MeshlogError('ML_CONFLICT', `user "${name}" is disabled`);
    return user;
  }

  private async save(user: StoredUser): Promise<void> {
    await this.store.save(user);
    this.users.set(user.name, user);
    await this.replica.send(user);
  }
}
