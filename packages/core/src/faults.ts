import { readdirSync, unlinkSync } from "node:fs";
import path from "node:path";
import { RetryableError } from "./errors";

/**
 * Fault injection for the failure tests, inert unless LEADPIPE_FAULTS_DIR is set. Each file
 * `<point>.<n>.<kind>` in that folder is one ticket: the first process to delete it fires it at
 * that point. Deleting a file is atomic, so each ticket fires exactly once even across worker
 * threads and processes. Kinds: an error name (RetryableError, or any other for a plain Error),
 * `exit` (the process dies), `terminate-backend` (maybeFailIn only: the database connection is
 * dropped by the server, as a failover or an administrator would).
 */
function takeTicket(point: string, kinds?: readonly string[]): string | undefined {
  const dir = process.env.LEADPIPE_FAULTS_DIR;
  if (!dir) return undefined;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of entries) {
    if (!name.startsWith(point + ".")) continue;
    const kind = name.split(".").pop()!;
    if (kinds && !kinds.includes(kind)) continue;
    try {
      unlinkSync(path.join(dir, name));
    } catch {
      continue;
    }
    return kind;
  }
  return undefined;
}

export function maybeFail(point: string): void {
  const kind = takeTicket(point);
  if (kind === undefined) return;
  const message = `injected fault at ${point}`;
  if (kind === "RetryableError") throw new RetryableError(message);
  if (kind === "exit") process.exit(70);
  throw new Error(message);
}

/** maybeFail inside a database session: a `terminate-backend` ticket makes the server drop this connection. */
export async function maybeFailIn(point: string, client: { query(sql: string): Promise<unknown> }): Promise<void> {
  if (takeTicket(point, ["terminate-backend"])) await client.query("SELECT pg_terminate_backend(pg_backend_pid())");
  maybeFail(point);
}
