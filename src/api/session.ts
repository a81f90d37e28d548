/** `/api/v1/session`: the UI's login session (src/access/sessionRoutes.ts). */

/** What a UI page may need; the server checks every request, the UI only hides what would be refused. */
export type UiPermission = 'query' | 'audit' | 'admin';

/** `GET` and `POST /api/v1/session`: who is logged in and what the UI may offer them. */
export interface SessionResponse {
  identity: { id: string; name: string; kind: string; roles: string[]; tenants: string[] };
  permissions: UiPermission[];
  csrfToken: string;
  idleTimeoutMs: number;
  /** Lines one log query may return (the server's query.max_lines); Explore pages in queries of this size. */
  maxLinesPerQuery: number;
}

/** `GET /api/v1/session/methods`: the ways to log in. */
export interface SessionMethodsResponse {
  token: boolean;
  oidc: boolean;
}
