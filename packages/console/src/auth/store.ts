import crypto from "node:crypto";
import type { Queryable } from "@leadpipe/core";
import { hashPassword, verifyPassword } from "./passwords";
import { isRole, type Role } from "./roles";
import type { IdentityProvider } from "./identity";

/**
 * Logins, sessions, failed-attempt counts and the audit log (migration 130). Every statement is
 * parameterised: no text a user typed reaches SQL otherwise.
 */

export class UserInputError extends Error {
  override name = "UserInputError";
}

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,62}$/;

export function checkUsername(name: string): string {
  const n = name.trim().toLowerCase();
  if (!USERNAME.test(n)) throw new UserInputError(`not a valid user name: "${name}" (a-z, 0-9, . _ @ -, at most 63)`);
  return n;
}

export interface User {
  username: string;
  role: Role;
}

/** Adds the user, or sets the role and password of an existing one. Returns whether it was new. */
export async function addUser(
  db: Queryable,
  name: string,
  role: string,
  password: string,
): Promise<{ created: boolean; user: User }> {
  const username = checkUsername(name);
  if (!isRole(role)) throw new UserInputError(`not a role: "${role}" (analyst, marketer, ops, steward, admin)`);
  const hash = await hashPassword(password);
  const {
    rows: [r],
  } = await db.query<{ created: boolean }>(
    `INSERT INTO console_users (username, role, password_hash) VALUES ($1, $2, $3)
     ON CONFLICT (username) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
       provider = 'local', disabled_at = NULL, updated_at = now()
     RETURNING (xmax = 0) AS created`,
    [username, role, hash],
  );
  // A new password ends the user's open sessions.
  if (!r!.created)
    await db.query("UPDATE console_sessions SET ended_at = now() WHERE username = $1 AND ended_at IS NULL", [username]);
  return { created: r!.created, user: { username, role } };
}

export async function disableUser(db: Queryable, name: string): Promise<boolean> {
  const username = checkUsername(name);
  const r = await db.query(
    "UPDATE console_users SET disabled_at = now(), updated_at = now() WHERE username = $1 AND disabled_at IS NULL",
    [username],
  );
  await db.query("UPDATE console_sessions SET ended_at = now() WHERE username = $1 AND ended_at IS NULL", [username]);
  return (r.rowCount ?? 0) > 0;
}

export async function listUsers(db: Queryable) {
  return (
    await db.query<{
      username: string;
      role: Role;
      disabled_at: Date | null;
      created_at: Date;
      last_login: Date | null;
    }>(
      `SELECT u.username, u.role, u.disabled_at, u.created_at,
            (SELECT max(created_at) FROM console_sessions s WHERE s.username = u.username) AS last_login
       FROM console_users u ORDER BY u.username`,
    )
  ).rows;
}

export interface LoginLimits {
  /** Failed attempts per username and address within the window before logins are refused. */
  maxFailures: number;
  windowMs: number;
}

export type LoginResult =
  | { ok: true; user: User }
  | {
      ok: false;
      reason: "invalid" | "rate-limited" | "no-role" | "password-change-required" | "unavailable";
      retryAfterS?: number;
      detail?: string;
    };

const normalized = (name: string) => name.trim().toLowerCase().slice(0, 64);

/** Refuses the login, without checking the password, past `maxFailures` failures for this user and address. */
async function rateLimited(
  db: Queryable,
  username: string,
  ip: string,
  limits: LoginLimits,
): Promise<LoginResult | undefined> {
  const {
    rows: [f],
  } = await db.query<{ failures: number; oldest: Date | null }>(
    `SELECT count(*)::int AS failures, min(at) AS oldest FROM console_login_attempts
      WHERE username = $1 AND ip = $2 AND NOT ok AND at > now() - make_interval(secs => $3)`,
    [username, ip, limits.windowMs / 1000],
  );
  if (f!.failures < limits.maxFailures) return undefined;
  const retry = f!.oldest ? Math.max(1, Math.ceil((f!.oldest.getTime() + limits.windowMs - Date.now()) / 1000)) : 60;
  return { ok: false, reason: "rate-limited", retryAfterS: retry };
}

const recordAttempt = (db: Queryable, username: string, ip: string, ok: boolean) =>
  db.query("INSERT INTO console_login_attempts (username, ip, ok) VALUES ($1, $2, $3)", [username, ip, ok]);

/**
 * Checks a login. Past `maxFailures` failures for this username from this address in the window, the
 * password is not even checked. Unknown users and wrong passwords take the same time and answer alike.
 */
export async function checkLogin(
  db: Queryable,
  name: string,
  password: string,
  ip: string,
  limits: LoginLimits,
): Promise<LoginResult> {
  const username = normalized(name);
  const limited = await rateLimited(db, username, ip, limits);
  if (limited) return limited;
  const {
    rows: [u],
  } = USERNAME.test(username)
    ? await db.query<{ role: string; password_hash: string | null }>(
        "SELECT role, password_hash FROM console_users WHERE username = $1 AND disabled_at IS NULL",
        [username],
      )
    : { rows: [] };
  const ok = await verifyPassword(password, u?.password_hash ?? undefined);
  await recordAttempt(db, username, ip, ok);
  if (!ok || !u || !isRole(u.role)) return { ok: false, reason: "invalid" };
  return { ok: true, user: { username, role: u.role } };
}

/**
 * A login the identity provider checks (AWS: Cognito), under the same rate limit. The user is recorded
 * (or its role brought up to date from its groups) so that its sessions, the users page and the audit log
 * name it; a user an admin disabled here stays refused whatever the provider says.
 */
export async function externalLogin(
  db: Queryable,
  provider: IdentityProvider,
  name: string,
  password: string,
  ip: string,
  limits: LoginLimits,
): Promise<LoginResult> {
  const username = normalized(name);
  const limited = await rateLimited(db, username, ip, limits);
  if (limited) return limited;
  const r = await provider.login(username, password);
  if (r.ok) {
    const {
      rows: [u],
    } = await db.query<{ disabled: boolean }>(
      `INSERT INTO console_users (username, role, password_hash, provider) VALUES ($1, $2, NULL, $3)
       ON CONFLICT (username) DO UPDATE SET role = excluded.role, provider = excluded.provider,
         password_hash = NULL, updated_at = now()
       RETURNING disabled_at IS NOT NULL AS disabled`,
      [r.user.username, r.user.role, provider.name],
    );
    await recordAttempt(db, username, ip, !u!.disabled);
    return u!.disabled ? { ok: false, reason: "invalid" } : r;
  }
  // The provider being down is not the user's failure: it does not count towards the limit.
  if (r.reason !== "unavailable") await recordAttempt(db, username, ip, false);
  return r;
}

export async function createSession(
  db: Queryable,
  user: User,
  ip: string,
  ttlMs: number,
): Promise<{ id: string; expiresAt: Date }> {
  const id = crypto.randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + ttlMs);
  await db.query("INSERT INTO console_sessions (id, username, ip, expires_at) VALUES ($1, $2, $3, $4)", [
    id,
    user.username,
    ip,
    expiresAt,
  ]);
  return { id, expiresAt };
}

/** The session's user, if the session is open, unexpired, and its user enabled. */
export async function sessionUser(db: Queryable, id: string): Promise<User | undefined> {
  const {
    rows: [r],
  } = await db.query<{ username: string; role: string }>(
    `SELECT u.username, u.role FROM console_sessions s JOIN console_users u USING (username)
      WHERE s.id = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL`,
    [id],
  );
  return r && isRole(r.role) ? { username: r.username, role: r.role } : undefined;
}

export async function endSession(db: Queryable, id: string): Promise<void> {
  await db.query("UPDATE console_sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL", [id]);
}

/** The cookie-signing key: generated once per database, kept in console_secrets (the owner's only). */
export async function signingKey(db: Queryable): Promise<Buffer> {
  await db.query("INSERT INTO console_secrets (name, value) VALUES ('cookie-hmac', $1) ON CONFLICT (name) DO NOTHING", [
    crypto.randomBytes(32),
  ]);
  const {
    rows: [r],
  } = await db.query<{ value: Buffer }>("SELECT value FROM console_secrets WHERE name = 'cookie-hmac'");
  return r!.value;
}

export interface AuditEntry {
  username: string;
  role?: string | null;
  action: string;
  target?: string | null;
  outcome: "ok" | "refused" | "error";
  detail?: Record<string, unknown>;
  ip?: string | null;
}

export async function audit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query(
    "INSERT INTO console_audit (username, role, action, target, outcome, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [e.username, e.role ?? null, e.action, e.target ?? null, e.outcome, JSON.stringify(e.detail ?? {}), e.ip ?? null],
  );
}
