import crypto from "node:crypto";

/** The session cookie: `<session id>.<expiry, epoch s>.<HMAC-SHA256 of both>`, signed with the database's key. */
export const SESSION_COOKIE = "lp_session";
/** Before a login there is no session: the login form's CSRF token is a double-submit cookie. */
export const LOGIN_CSRF_COOKIE = "lp_login_csrf";
export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-csrf-token";

const mac = (key: Buffer, text: string) => crypto.createHmac("sha256", key).update(text).digest("base64url");

export function signSession(key: Buffer, id: string, expiresAt: Date): string {
  const value = `${id}.${Math.floor(expiresAt.getTime() / 1000)}`;
  return `${value}.${mac(key, value)}`;
}

/** The session id, if the cookie is ours, intact and unexpired. */
export function verifySession(key: Buffer, cookie: string | undefined, now = Date.now()): string | undefined {
  if (!cookie) return undefined;
  const parts = cookie.split(".");
  if (parts.length !== 3) return undefined;
  const [id, exp, sig] = parts as [string, string, string];
  if (!safeEqual(sig, mac(key, `${id}.${exp}`))) return undefined;
  if (!/^\d+$/.test(exp) || Number(exp) * 1000 <= now) return undefined;
  return id;
}

/** The CSRF token of a session: derived from its id, so nothing more is stored, and useless without the cookie. */
export function csrfToken(key: Buffer, sessionId: string): string {
  return mac(key, `csrf:${sessionId}`);
}

export function safeEqual(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
