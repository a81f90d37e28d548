/** The roles a key or a user can hold (the server's list, src/security/identity.ts). */
export const roles = ['admin', 'analyst', 'auditor', 'ingester', 'unmasker'];

/** `a, b` → `['a', 'b']`: how the admin forms take tenant lists. */
export function tenantList(text: string): string[] {
  return text
    .split(',')
    .map((tenant) => tenant.trim())
    .filter(Boolean);
}
