/** `/api/v1/admin/tenants` (the registry) and `/api/v1/tenants` (the tenants a credential may choose among). */

export interface Tenant {
  name: string;
  description: string;
  state: 'active' | 'disabled';
  created_by: string;
  created_at: string;
  changed_by: string;
  changed_at: string;
}

export interface TenantsResponse {
  tenants: Tenant[];
}

export interface TenantChoicesResponse {
  tenants: string[];
}

export interface TenantResponse {
  tenant: Tenant;
}
