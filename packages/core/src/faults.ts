import { readdirSync, unlinkSync } from "node:fs";
import path from "node:path";
import { RetryableError } from "./errors";

/**
 * Fault injection for the failure tests, inert unless LEADPIPE_FAULTS_DIR is set. Each file
 * `<point>.<n>.<ErrorName>` in that folder is one ticket: the first process to delete it throws
 * that error at that point. Deleting a file is atomic, so each ticket fires exactly once even
 * across worker threads and processes.
 */
export function maybeFail(point: string): void {
  const dir = process.env.LEADPIPE_FAULTS_DIR;
  if (!dir) return;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (!name.startsWith(point + ".")) continue;
    try {
      unlinkSync(path.join(dir, name));
    } catch {
      continue;
    }
    const kind = name.split(".").pop();
    const message = `injected fault at ${point}`;
    if (kind === "RetryableError") throw new RetryableError(message);
    if (kind === "exit") process.exit(70);
    throw new Error(message);
  }
}
