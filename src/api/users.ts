/** `/api/v1/admin/users`: people with roles and tenants, managed by admins. */

export interface User {
  name: string;
  email: string;
  roles: string[];
  tenants: string[];
  state: 'active' | 'disabled';
  /** API keys issued to this user (revoked with the user). */
  key_ids: string[];
  created_by: string;
  created_at: string;
  changed_by: string;
  changed_at: string;
}

export interface UsersResponse {
  users: User[];
}

/** A change of a user (edit, disable, enable): what it revoked and ended with it. */
export interface UserChangeResponse {
  user: User;
  revoked_keys: string[];
  ended_sessions: number;
}

export interface UserResponse {
  user: User;
}
