import { existsSync, readFileSync } from "node:fs";
import { homePaths } from "./home";

export interface RuntimeFile {
  pid: number;
  databaseUrl: string;
  s3Endpoint: string;
  bucket: string;
}

/** The platform running on this LEADPIPE_HOME (npm start in another terminal), if its process is alive. */
export function readRuntime(home?: string): RuntimeFile | undefined {
  const file = homePaths(home).runtime;
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as RuntimeFile;
    process.kill(r.pid, 0);
    return r.pid === process.pid ? undefined : r;
  } catch {
    return undefined;
  }
}
