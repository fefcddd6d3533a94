import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { reachableDataDir } from "../../packages/local/src/postgres";

/** A LEADPIPE_HOME under `tmp` that starts empty (no sample day seeded). */
export function freshHome(tmp: string, name: string): string {
  const home = path.join(tmp, name);
  mkdirSync(path.join(home, "inbox"), { recursive: true });
  writeFileSync(path.join(home, ".seeded"), "test\n");
  return home;
}

/**
 * After the tests: kills the process groups of the children still running (each was spawned
 * detached, its PID its group's), removes the PostgreSQL data folders copied out of the homes (as
 * root in a 0700 checkout) and then `tmp`.
 */
export function cleanUp(tmp: string, homes: readonly string[], children: Iterable<ChildProcess>): void {
  for (const c of children)
    if (c.pid)
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {
        /* gone */
      }
  if (!tmp) return;
  for (const home of homes) {
    const dir = reachableDataDir(path.join(tmp, home, "pg"));
    if (dir !== path.join(tmp, home, "pg")) rmSync(dir, { recursive: true, force: true });
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** A child process whose standard output and error are kept as they arrive. */
export type CapturedChild = ChildProcess & { out: () => string; err: () => string };

/**
 * Spawns `command` with its stdout and stderr captured (read with `out()` and `err()`), tracked in
 * `children` while it runs (so cleanUp can end what a failed test left).
 */
export function spawnCaptured(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, "stdio">,
  children: Set<ChildProcess>,
): CapturedChild {
  let out = "";
  let err = "";
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return Object.assign(child, { out: () => out, err: () => err });
}
