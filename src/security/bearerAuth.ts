import { createHash, timingSafeEqual } from 'node:crypto';
import { MeshlogError } from '../errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Checks a presented token (see presentedToken) in constant time against the known tokens. */
export function bearerAuthenticator(tokens: string[]): (token: string | undefined) => void {
  const known = tokens.map(digest);
  return (token) => {
    if (token === undefined) throw new MeshlogError('ML_AUTH_MISSING');
    const presented = digest(token);
    if (!known.some((candidate) => timingSafeEqual(candidate, presented))) throw new MeshlogError('ML_AUTH_INVALID');
  };
}
