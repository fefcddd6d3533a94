import crypto from "node:crypto";
import pg from "pg";
import type { Queryable } from "./db";

/** The login roles migrations 070 and 191 create: ad-hoc SQL, the pipeline's handlers, the console. */
export const READONLY_ROLE = "leadpipe_readonly";
export const PIPELINE_ROLE = "leadpipe_pipeline";
export const CONSOLE_ROLE = "leadpipe_console";
export const LOGIN_ROLES = [READONLY_ROLE, PIPELINE_ROLE, CONSOLE_ROLE] as const;
export type LoginRole = (typeof LOGIN_ROLES)[number];

/**
 * Sets the roles' passwords (run by the owner after the migrations: the local platform at start, the
 * migrate function from the roles' secrets in AWS). The passwords go out as SCRAM verifiers built here,
 * so the server's logs and statistics can never hold them in clear.
 */
export async function setRolePasswords(db: Queryable, passwords: Partial<Record<LoginRole, string>>): Promise<void> {
  for (const [role, password] of Object.entries(passwords)) {
    if (!password) continue;
    if (!(LOGIN_ROLES as readonly string[]).includes(role)) throw new Error(`not a leadpipe login role: ${role}`);
    await db.query(`ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`);
  }
}

/** RFC 5802 / 7677 SCRAM-SHA-256 stored key form, as PostgreSQL keeps it in pg_authid. */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = crypto.randomBytes(16);
  const salted = crypto.pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = crypto.createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = crypto.createHash("sha256").update(clientKey).digest();
  const serverKey = crypto.createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** The same server as `url`, logged in as `role`. */
export function urlAs(url: string, role: LoginRole, password: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = encodeURIComponent(password);
  return u.toString();
}
