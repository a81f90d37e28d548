/**
 * A tenant id, as Loki's X-Scope-OrgID takes it but narrower: 1–128 of
 * A–Z a–z 0–9 _ . -, and never `.` or `..`, which dskit refuses too: a
 * tenant becomes a path segment (an S3 key prefix of its archives).
 */
export const tenantNameRule = '1-128 of A-Z a-z 0-9 _ . -, not "." or ".."';

const tenantCharacters = /^[A-Za-z0-9_.-]{1,128}$/;

export function isTenantName(value: string): boolean {
  return tenantCharacters.test(value) && value !== '.' && value !== '..';
}

/** A tenant people may register, grant or send to by name: not one of meshlog's own (`_audit`…), which start with `_`. */
export function isOwnTenantName(value: string): boolean {
  return isTenantName(value) && !value.startsWith('_');
}
