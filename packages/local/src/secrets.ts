import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * The local platform's database passwords, generated per LEADPIPE_HOME (crypto random) and kept in
 * one file readable by its owner only (mode 0600). Nothing else holds them but runtime.json (0600,
 * removed at stop).
 */
export interface LocalSecrets {
  /** The embedded cluster's superuser (`leadpipe`): migrations and the platform's own bookkeeping. */
  superuser: string;
  /** leadpipe_readonly: `leadpipe sql`. */
  readonly: string;
  /** leadpipe_pipeline: the handlers. */
  pipeline: string;
  /** leadpipe_console: the console's pages and logins. */
  console: string;
}

/** The superuser password of clusters initialised before passwords were generated. */
export const LEGACY_SUPERUSER_PASSWORD = "leadpipe";

const newPassword = () => randomBytes(24).toString("hex");

/** Reads the secrets file, creating it (or the entries it lacks) first. */
export function localSecrets(file: string): LocalSecrets {
  let stored: Partial<LocalSecrets> = {};
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    try {
      stored = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalSecrets>;
    } catch (err) {
      throw new Error(
        `${file} is not valid JSON (${(err as Error).message}): fix or remove it ` +
          "(removing it gives a new readonly/pipeline password; the superuser's is then unknown)",
        { cause: err },
      );
    }
  }
  const secrets: LocalSecrets = {
    superuser: stored.superuser ?? newPassword(),
    readonly: stored.readonly ?? newPassword(),
    pipeline: stored.pipeline ?? newPassword(),
    console: stored.console ?? newPassword(),
  };
  if ((Object.keys(secrets) as (keyof LocalSecrets)[]).some((k) => secrets[k] !== stored[k])) {
    writePrivate(file, JSON.stringify(secrets, null, 2) + "\n");
  }
  return secrets;
}

/** Writes a file only its owner can read, whole or not at all (a temp file renamed over it). */
export function writePrivate(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
