import { ROLES, type Role } from "./roles";
import type { User } from "./store";

/**
 * Who vouches for a login when the console does not keep passwords itself (AWS: the stage's Cognito
 * user pool; adapters/cognito.ts). Locally there is none and the console's scrypt logins are used.
 */
export interface IdentityProvider {
  /** Where the users are managed, for the login page and the audit log ("cognito"). */
  readonly name: string;
  /** A user name and password checked by the provider: the user and its role, or why not. */
  login(username: string, password: string): Promise<IdentityLogin>;
  /** A bearer token the provider issued (an ID or access token): its user, or undefined if not valid now. */
  verify(token: string): Promise<User | undefined>;
}

export type IdentityLogin =
  | { ok: true; user: User }
  | { ok: false; reason: "invalid" | "no-role" | "password-change-required" | "unavailable"; detail?: string };

/**
 * A user's role from its groups: the first of admin, ops, steward, marketer, analyst it belongs to (the
 * user pool's group precedence says the same, stacks/Console.ts). Groups that are not roles are ignored;
 * no role group, no access.
 */
export const ROLE_PRECEDENCE: readonly Role[] = ["admin", "ops", "steward", "marketer", "analyst"];

export function roleFromGroups(groups: unknown): Role | undefined {
  if (!Array.isArray(groups)) return undefined;
  return ROLE_PRECEDENCE.find((r) => groups.includes(r));
}

// Every role has a precedence: a role added to ROLES but not here would never be granted.
if (ROLE_PRECEDENCE.length !== ROLES.length || !ROLES.every((r) => ROLE_PRECEDENCE.includes(r)))
  throw new Error("ROLE_PRECEDENCE must list every role once");
