/** `/api/v1/access-reviews`: periodic user-access reviews, as replayed from the audit trail. */

/** One grant under review, as it stood when the review started. */
export interface ReviewItem {
  /** `key:<id>` or `user:<name>`. */
  id: string;
  kind: 'api_key' | 'user';
  name: string;
  roles: string[];
  tenants: string[];
  created_at: string;
  created_by: string;
  last_used_at: string | null;
  expires_at: string | null;
  /** Whose grant this is (the item itself, the user a key was issued to, a user's keys): none of them may decide it. */
  principals: string[];
}

export interface ReviewActor {
  id: string;
  name: string;
}

export interface ReviewDecision {
  item: string;
  decision: 'keep' | 'revoke';
  comment: string;
  by: ReviewActor;
  at: string;
  /** What the revocation did: keys revoked, user disabled. */
  revoked: { keys: string[]; user: string | null };
}

export interface Ed25519Signature {
  algorithm: 'Ed25519';
  /** C2SP verifier key of meshlog's signing key (`<name>+<hash>+<base64>`). */
  key: string;
  /** Base64 signature over the RFC 8785 canonical JSON of the statement. */
  value: string;
}

/** What a sign-off attests, signed as its canonical JSON. */
export interface SignOffStatement {
  review: string;
  tenant: string;
  period: { from: string; to: string };
  due: string;
  population_sha256: string;
  decisions: { item: string; kind: string; name: string; decision: 'keep' | 'revoke'; comment: string; by: ReviewActor; at: string }[];
  signed_off_by: ReviewActor;
  signed_off_at: string;
  comment: string;
}

export interface ReviewStart {
  review: string;
  tenant: string;
  period: { from: string; to: string };
  due: string;
  trigger: 'schedule' | 'on_demand';
  started_at: string;
  items: ReviewItem[];
  population_sha256: string;
}

export interface AccessReview extends ReviewStart {
  started_by: ReviewActor;
  decisions: Record<string, ReviewDecision>;
  sign_off: { statement: SignOffStatement; ed25519_signature: Ed25519Signature } | null;
  state: 'open' | 'decided' | 'signed_off';
}

/** A review as one viewer may see it: tenants of items beyond the viewer's are counted, not named. */
export type ReviewView = Omit<AccessReview, 'items'> & {
  items: (Omit<ReviewItem, 'tenants' | 'principals'> & {
    tenants: string[];
    other_tenants: number;
    decidable: boolean;
    why_not?: string;
  })[];
};

export interface AccessReviewsResponse {
  reviews: ReviewView[];
}

export interface AccessReviewResponse {
  review: ReviewView;
}
