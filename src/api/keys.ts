/** `/api/v1/admin/keys`: API keys, never with their secret. */

export interface ApiKeyView {
  id: string;
  name: string;
  roles: string[];
  tenants: string[];
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string;
  last_used_at: string | null;
  state: 'active' | 'revoked' | 'expired';
}

export interface ApiKeysResponse {
  keys: ApiKeyView[];
}

/** `POST /api/v1/admin/keys` and `/api/v1/admin/users/<name>/keys`: a new key, its secret shown this once. */
export interface CreatedKeyResponse {
  id: string;
  key: string;
  note: string;
}
