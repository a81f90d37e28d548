/** The tenant meshlog keeps for itself (the audit trail); no client can select it. */
export const auditTenant = '_audit';
