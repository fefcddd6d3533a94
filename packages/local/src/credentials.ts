import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Integrations } from "@leadpipe/core";
import { homePaths } from "./home";

/**
 * The local stand-in for a system's Secrets Manager secret: refreshed OAuth tokens kept in
 * `$LEADPIPE_HOME/credentials/<system>.json`, readable by the owner only (0600, folder 0700),
 * replaced atomically so a crash mid-write leaves the previous tokens.
 */
export function fileCredentials(home?: string): Integrations.CredentialStore {
  const dir = path.join(homePaths(home).root, "credentials");
  const file = (system: string) => path.join(dir, `${system}.json`);
  return {
    async load(system) {
      const f = file(system);
      if (!existsSync(f)) return undefined;
      try {
        return JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>;
      } catch {
        return undefined; // unreadable tokens are only a cache: the sync authenticates again
      }
    },
    async save(system, value) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      const tmp = `${file(system)}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
      renameSync(tmp, file(system));
    },
  };
}
