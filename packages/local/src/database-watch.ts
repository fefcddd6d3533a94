import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Pool } from "@leadpipe/core";
import type { RunningPostgres } from "./postgres";

export interface DatabaseWatchHooks {
  /** The database stopped answering (called once per outage). */
  lost(err: Error): void;
  /** It answers again (called once per outage, before the platform takes files again). */
  back(downForMs: number): Promise<void>;
  log(line: string): void;
}

/**
 * Watches the platform's database: while it does not answer, `up` is false (the inbox watcher
 * takes no files, the trigger's events wait), the loss is said once, and an embedded postmaster
 * that died is started again on its folder and port; when it answers again, `back` runs (crash
 * recovery of the imports that were in flight) before `up` turns true.
 */
export class DatabaseWatch {
  private down?: { since: number };
  private timer?: NodeJS.Timeout;
  private checking?: Promise<boolean>;

  constructor(
    private readonly pool: Pool,
    private readonly pg: RunningPostgres | undefined,
    private readonly hooks: DatabaseWatchHooks,
    private readonly intervalMs = 1000,
  ) {}

  get up(): boolean {
    return !this.down;
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Checks now (one check at a time): true when the database answers and the platform may take files. */
  check(): Promise<boolean> {
    this.checking ??= this.probe().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async probe(): Promise<boolean> {
    try {
      await this.pool.query("SELECT 1");
    } catch (err) {
      if (!this.down) {
        this.down = { since: Date.now() };
        this.hooks.lost(err as Error);
      }
      await this.restartDeadPostmaster();
      return false;
    }
    if (this.down) {
      const downForMs = Date.now() - this.down.since;
      try {
        await this.hooks.back(downForMs);
      } catch (err) {
        // Still down for the platform: the next check tries again.
        this.hooks.log(`database is back but recovery failed (retrying): ${(err as Error).message}`);
        return false;
      }
      this.down = undefined;
    }
    return true;
  }

  /** An embedded postmaster whose process is gone is ours to start again (same folder, same port). */
  private async restartDeadPostmaster(): Promise<void> {
    const { pg } = this;
    if (!pg?.dataDir || !pg.restart) return;
    const pidFile = path.join(pg.dataDir, "postmaster.pid");
    if (existsSync(pidFile) && alive(Number(readFileSync(pidFile, "utf8").split("\n")[0]))) return;
    try {
      await pg.restart();
      this.hooks.log("embedded PostgreSQL started again");
    } catch (err) {
      // Its old backends may still hold the shared memory for a moment: the next check retries.
      this.hooks.log(
        `embedded PostgreSQL could not be started again yet: ${(err as Error | undefined)?.message ?? "it exited"}`,
      );
    }
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
