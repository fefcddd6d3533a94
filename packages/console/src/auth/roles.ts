/** The console's roles. Each page and action says which of them may use it (routes.ts). */
export const ROLES = ["analyst", "marketer", "ops", "steward", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Every login reads: reports, the SQL window, imports, leads, compliance, people (read-only). */
export const READERS: readonly Role[] = ROLES;
export const MARKETERS: readonly Role[] = ["marketer"];
export const OPS: readonly Role[] = ["ops"];
export const STEWARDS: readonly Role[] = ["steward"];
export const ADMINS: readonly Role[] = ["admin"];
/** The audit log: the people who answer for actions (admins, on-call ops, stewards). */
export const AUDITORS: readonly Role[] = ["ops", "steward", "admin"];
