import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { ObjectStore } from "@leadpipe/core";

/**
 * The files the product writes for people (published audiences and lead hand-offs under outbox/,
 * an import's reports under reports/<import id>/) are mirrored as plain files under LEADPIPE_HOME,
 * at the same path as their key: $LEADPIPE_HOME/outbox/…, $LEADPIPE_HOME/reports/…. In the local
 * S3 endpoint's folder they sit under internal names nobody should open by hand. They hold
 * personal data: files are created mode 0600 (folders 0700), readable by the user running leadpipe.
 */
export const MIRRORED_PREFIXES = ["outbox/", "reports/"] as const;

/** Longest file name most Linux file systems accept, in bytes (S3 keys may hold longer segments). */
const NAME_MAX = 255;

/**
 * Where the object `key` is mirrored under the home folder `root`; undefined when the key is not
 * under a mirrored prefix or cannot be a path inside it (an empty, "." or ".." segment, a NUL, a
 * segment longer than the file system takes). Nothing a key holds can reach outside `root`.
 */
export function mirrorPath(root: string, key: string): string | undefined {
  if (!MIRRORED_PREFIXES.some((prefix) => key.startsWith(prefix))) return undefined;
  const segments = key.split("/");
  const safe = segments.every(
    (s) => s !== "" && s !== "." && s !== ".." && !s.includes("\0") && Buffer.byteLength(s) <= NAME_MAX,
  );
  if (!safe) return undefined;
  const target = path.join(root, ...segments);
  return target.startsWith(path.resolve(root) + path.sep) ? target : undefined;
}

/**
 * Copies the object to its mirror path: streamed into a temporary file beside it, then renamed
 * over it, so a reader sees the old file or the new one, never half of one, and a copy repeated
 * (an event delivered twice, a command and the platform both copying) leaves the same file.
 * Returns the path, or undefined for a key that is not mirrored (see mirrorPath).
 */
export async function mirrorObject(
  store: Pick<ObjectStore, "read">,
  bucket: string,
  key: string,
  root: string,
): Promise<string | undefined> {
  const target = mirrorPath(root, key);
  if (!target) return undefined;
  mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  const temporary = path.join(path.dirname(target), `.${randomUUID()}.part`);
  try {
    await pipeline(await store.read(bucket, key), createWriteStream(temporary, { mode: 0o600 }));
    renameSync(temporary, target);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  return target;
}

/** `s3://bucket/key` → key (the form the use cases report their files in). */
export function keyOfUrl(url: string, bucket: string): string {
  const prefix = `s3://${bucket}/`;
  if (!url.startsWith(prefix)) throw new Error(`not an object of bucket ${bucket}: ${url}`);
  return url.slice(prefix.length);
}
