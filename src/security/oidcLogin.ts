import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { MeshlogError } from '../errors.js';
import type { Identity } from './identity.js';
import { OidcVerifier, type OidcConfig } from './oidcVerifier.js';

export interface OidcLoginConfig extends OidcConfig {
  client_id: string;
  client_secret_file?: string;
  scopes: string;
}

interface PendingLogin {
  verifier: string;
  nonce: string;
  redirectUri: string;
  returnTo: string;
  expiresAt: number;
}

interface ProviderEndpoints {
  authorization_endpoint: string;
  token_endpoint: string;
}

/** How long a user may take at the identity provider. */
const pendingTtlMs = 10 * 60 * 1000;
const maxPending = 10_000;

const base64url = (bytes: Buffer) => bytes.toString('base64url');

/**
 * The UI's single sign-on: OIDC authorization code flow with PKCE (S256).
 * `start` makes the provider URL and remembers the verifier and nonce under
 * a random state; `finish` trades the code for tokens and turns the ID
 * token (signature, issuer, audience = client id, expiry, nonce) into an
 * identity with the same claim mapping as bearer tokens.
 */
export class OidcLogin {
  private readonly pending = new Map<string, PendingLogin>();
  private endpoints: Promise<ProviderEndpoints> | undefined;
  private readonly idTokens: OidcVerifier;
  private readonly clientSecret: string | undefined;

  constructor(
    private readonly config: OidcLoginConfig,
    /** Throws for an identity that may not sign in (a disabled meshlog user). */
    private readonly admit: (identity: Identity) => Identity = (identity) => identity,
    private readonly now: () => number = Date.now,
  ) {
    this.idTokens = new OidcVerifier({ ...config, audience: config.client_id });
    this.clientSecret = config.client_secret_file ? readFileSync(config.client_secret_file, 'utf8').trim() : undefined;
  }

  /** The provider's endpoints, from its discovery document (fetched once; again after a failure). */
  private discover(): Promise<ProviderEndpoints> {
    this.endpoints ??= (async () => {
      const url = `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      const document = (await response.json()) as Partial<ProviderEndpoints>;
      if (!document.authorization_endpoint || !document.token_endpoint) throw new Error(`${url} names no authorization or token endpoint`);
      return { authorization_endpoint: document.authorization_endpoint, token_endpoint: document.token_endpoint };
    })().catch((error: unknown) => {
      this.endpoints = undefined;
      throw new MeshlogError('ML_UNAVAILABLE', `OIDC discovery failed: ${(error as Error).message}`);
    });
    return this.endpoints;
  }

  /** Where to send the browser, and the state that comes back with it. */
  async start(redirectUri: string, returnTo: string): Promise<{ url: string; state: string }> {
    const { authorization_endpoint } = await this.discover();
    const now = this.now();
    for (const [key, login] of this.pending) if (login.expiresAt < now) this.pending.delete(key);
    if (this.pending.size >= maxPending) throw new MeshlogError('ML_OVERLOADED', 'too many logins in progress');
    const state = base64url(randomBytes(24));
    const verifier = base64url(randomBytes(32));
    const nonce = base64url(randomBytes(24));
    this.pending.set(state, { verifier, nonce, redirectUri, returnTo, expiresAt: now + pendingTtlMs });
    const url = new URL(authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.config.client_id,
      redirect_uri: redirectUri,
      scope: this.config.scopes,
      state,
      nonce,
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
    }).toString();
    return { url: url.toString(), state };
  }

  /** The identity of a returning browser; each state is good for one try. */
  async finish(state: string, code: string): Promise<{ identity: Identity; returnTo: string }> {
    const login = this.pending.get(state);
    this.pending.delete(state);
    if (!login || login.expiresAt < this.now())
      throw new MeshlogError('ML_AUTH_INVALID', 'unknown or expired login state: start the login again');
    const { token_endpoint } = await this.discover();
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (this.clientSecret)
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(this.config.client_id)}:${encodeURIComponent(this.clientSecret)}`).toString('base64')}`;
    const response = await fetch(token_endpoint, {
      method: 'POST',
      headers,
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: login.redirectUri,
        client_id: this.config.client_id,
        code_verifier: login.verifier,
      }),
    });
    const tokens = (await response.json().catch(() => ({}))) as { id_token?: string; error?: string; error_description?: string };
    if (!response.ok || !tokens.id_token)
      throw new MeshlogError(
        'ML_AUTH_INVALID',
        `the provider refused the code: ${tokens.error_description ?? tokens.error ?? response.status}`,
      );
    const identity = await this.idTokens.identify(tokens.id_token);
    if (decodeJwt(tokens.id_token).nonce !== login.nonce)
      throw new MeshlogError('ML_AUTH_INVALID', 'ID token nonce does not match the login');
    return { identity: this.admit(identity), returnTo: login.returnTo };
  }
}
