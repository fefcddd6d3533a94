import crypto from "node:crypto";
import { promisify } from "node:util";

const scrypt = promisify(crypto.scrypt) as (
  pw: crypto.BinaryLike,
  salt: crypto.BinaryLike,
  len: number,
  o: crypto.ScryptOptions,
) => Promise<Buffer>;

/** scrypt's cost (N = 2^15, r = 8, p = 1: OWASP's minimum is 2^17 with r 8 / p 1 or 2^15 with p 3; see docs/console.md). */
const N = 1 << 15;
const R = 8;
const P = 3;
const KEYLEN = 32;
const MAXMEM = 128 * N * R * P * 2;

export class PasswordPolicyError extends Error {
  override name = "PasswordPolicyError";
}

export function checkPolicy(password: string): void {
  if (password.length < 12) throw new PasswordPolicyError("a password has at least 12 characters");
  if (password.length > 1024) throw new PasswordPolicyError("a password has at most 1024 characters");
}

/** `scrypt$N$r$p$salt$hash` (base64), a fresh 16-byte salt per call. */
export async function hashPassword(password: string): Promise<string> {
  checkPolicy(password);
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password.normalize("NFKC"), salt, KEYLEN, { N, r: R, p: P, maxmem: MAXMEM });
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** A hash of nothing anyone knows: an unknown user costs the same time as a known one. */
let decoy: Promise<string> | undefined;

/** True when `password` matches `stored` (constant-time compare); `stored` undefined still spends the time. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const target = stored ?? (await (decoy ??= hashPassword(crypto.randomBytes(24).toString("base64"))));
  const [scheme, n, r, p, salt, hash] = target.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const got = await scrypt(password.normalize("NFKC"), Buffer.from(salt, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 128 * Number(n) * Number(r) * Number(p) * 2,
  });
  return crypto.timingSafeEqual(got, expected) && stored !== undefined;
}
