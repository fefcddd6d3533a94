import { existsSync, readFileSync, rmSync } from "node:fs";
import { homePaths } from "./home";
import { writePrivate } from "./secrets";

/** What a running platform tells other commands on the same LEADPIPE_HOME (mode 0600: it holds a password). */
export interface RuntimeFile {
  pid: number;
  databaseUrl: string;
  s3Endpoint: string;
  bucket: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The platform running on this LEADPIPE_HOME (npm start in another terminal), if its process is alive.
 * A file left by a platform that ended abnormally is removed.
 */
export function readRuntime(home?: string): RuntimeFile | undefined {
  const file = homePaths(home).runtime;
  if (!existsSync(file)) return undefined;
  let r: RuntimeFile;
  try {
    r = JSON.parse(readFileSync(file, "utf8")) as RuntimeFile;
  } catch {
    rmSync(file, { force: true });
    return undefined;
  }
  if (r.pid === process.pid) return undefined;
  if (!Number.isInteger(r.pid) || !alive(r.pid)) {
    rmSync(file, { force: true });
    return undefined;
  }
  return r;
}

export function writeRuntime(home: string, r: RuntimeFile): void {
  writePrivate(homePaths(home).runtime, JSON.stringify(r, null, 2));
}

/** Removes this process's runtime file (never another live platform's). */
export function removeRuntime(home: string): void {
  const file = homePaths(home).runtime;
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as RuntimeFile;
    if (r.pid !== process.pid && alive(r.pid)) return;
  } catch {
    // unreadable or gone: remove what is there
  }
  rmSync(file, { force: true });
}
