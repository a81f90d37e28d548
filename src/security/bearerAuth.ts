import { createHash, timingSafeEqual } from 'node:crypto';
import { MeshlogError } from '../errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Checks `Authorization: Bearer <token>` in constant time against the known tokens. */
export function bearerAuthenticator(tokens: string[]): (authorization: string | undefined) => void {
  const known = tokens.map(digest);
  return (authorization) => {
    if (!authorization) throw new MeshlogError('ML_AUTH_MISSING');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new MeshlogError('ML_AUTH_INVALID', 'expected "Bearer <token>"');
    const presented = digest(match[1]);
    if (!known.some((candidate) => timingSafeEqual(candidate, presented))) throw new MeshlogError('ML_AUTH_INVALID');
  };
}
