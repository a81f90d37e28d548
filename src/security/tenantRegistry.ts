import { MeshlogError } from '../errors.js';
import { Replica } from '../model/replica.js';
import type { StoredTenant, TenantStore } from '../storage/stores/tenantStore.js';

/**
 * Registered tenants and their state, held in memory for the request path
 * and written through to storage. A disabled tenant is refused for ingest and
 * queries with every credential (offboarding in one step); keys keep their
 * grants, so enabling it again restores access as it was.
 */
export class TenantRegistry {
  /** In a cluster: a tenant registered or changed on any node is stored on every node, and a disabled one refused at once. */
  readonly replica = new Replica<StoredTenant>(async (tenant) => {
    if (JSON.stringify(this.tenants.get(tenant.name)) === JSON.stringify(tenant)) return;
    await this.store.save(tenant);
    this.tenants.set(tenant.name, tenant);
  });

  private constructor(
    private readonly store: TenantStore,
    private readonly tenants: Map<string, StoredTenant>,
  ) {}

  static async open(store: TenantStore): Promise<TenantRegistry> {
    return new TenantRegistry(store, new Map((await store.tenants()).map((tenant) => [tenant.name, tenant])));
  }

  list(): StoredTenant[] {
    return [...this.tenants.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async create(name: string, description: string, actor: string): Promise<StoredTenant> {
    if (this.tenants.has(name)) throw new MeshlogError('ML_CONFLICT', `tenant "${name}" is already registered`);
    const now = new Date().toISOString();
    const tenant: StoredTenant = {
      name,
      description,
      state: 'active',
      created_by: actor,
      created_at: now,
      changed_by: actor,
      changed_at: now,
    };
    await this.save(tenant);
    return tenant;
  }

  async setState(name: string, state: StoredTenant['state'], actor: string): Promise<StoredTenant> {
    const current = this.tenants.get(name);
    if (!current) throw new MeshlogError('ML_NOT_FOUND', `tenant "${name}" is not registered`);
    const changed: StoredTenant = { ...current, state, changed_by: actor, changed_at: new Date().toISOString() };
    await this.save(changed);
    return changed;
  }

  private async save(tenant: StoredTenant): Promise<void> {
    await this.store.save(tenant);
    this.tenants.set(tenant.name, tenant);
    await this.replica.send(tenant);
  }

  /** Refuses a disabled tenant; unregistered tenants are not refused (keys and listeners name them). */
  assertActive(tenant: string): void {
    if (this.tenants.get(tenant)?.state === 'disabled') throw new MeshlogError('ML_FORBIDDEN', `tenant "${tenant}" is disabled`);
  }
}
