/** `/api/v1/saved-queries`: LogQL queries saved from Explore. */

/** A LogQL query someone saved from Explore, with the time range it was saved with. */
export interface SavedQuery {
  tenant: string;
  id: string;
  /** The identity id that saved it (key id, `oidc:<subject>`, `admin-token`): only it may delete the query. */
  owner_id: string;
  owner_name: string;
  name: string;
  query: string;
  /** As Explore's time range picker writes them: `now-1h`, or Unix milliseconds. */
  range_from: string;
  range_to: string;
  /** Visible to everyone who may query the tenant, not only its owner. */
  shared: boolean;
  created_at: string;
}

export interface SavedQueriesResponse {
  savedQueries: SavedQuery[];
}

export interface SavedQueryResponse {
  savedQuery: SavedQuery;
}
