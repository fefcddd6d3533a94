import type { Queryable } from "../db";
import type { System } from "./config";

/** What one sync did: the CLI's `--json` contract (issue 23), one object at the end of a run. */
export interface SyncResult {
  system: System;
  run_id: string;
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: number;
  requests: number;
}

export type SyncCounts = Omit<SyncResult, "system" | "run_id">;

export function zeroCounts(): SyncCounts {
  return { read: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, failed: 0, requests: 0 };
}

export interface SyncRunOptions {
  trigger: "cli" | "schedule" | "lambda" | "console";
  full: boolean;
  dryRun: boolean;
  /** A running sync whose heartbeat is older than this is abandoned (marked failed) by the next one. */
  leaseSeconds?: number;
}

export class SyncAlreadyRunningError extends Error {
  override readonly name = "SyncAlreadyRunningError";
}

/**
 * Opens a run: an earlier run of the same system silent for longer than its lease (a crashed
 * process) is marked failed first; a live one makes this refuse, so two syncs of one system never
 * write at once (a unique index on the running row is the guard, not this check).
 */
export async function beginSyncRun(db: Queryable, system: System, o: SyncRunOptions): Promise<string> {
  const lease = o.leaseSeconds ?? 600;
  await db.query(
    `UPDATE integration_sync_runs
        SET status = 'failed', finished_at = now(),
            error = 'abandoned: no heartbeat since ' || heartbeat_at::text
      WHERE system = $1 AND status = 'running' AND heartbeat_at < now() - make_interval(secs => $2)`,
    [system, lease],
  );
  try {
    const { rows } = await db.query<{ run_id: string }>(
      `INSERT INTO integration_sync_runs (system, trigger, full_sync, dry_run)
       VALUES ($1, $2, $3, $4) RETURNING run_id`,
      [system, o.trigger, o.full, o.dryRun],
    );
    return rows[0]!.run_id;
  } catch (err) {
    if ((err as { code?: string }).code !== "23505") throw err;
    const { rows } = await db.query<{ run_id: string; started_at: Date }>(
      `SELECT run_id, started_at FROM integration_sync_runs WHERE system = $1 AND status = 'running'`,
      [system],
    );
    const r = rows[0];
    throw new SyncAlreadyRunningError(
      `a ${system} sync is already running${r ? ` (run ${r.run_id} since ${r.started_at.toISOString()})` : ""}`,
    );
  }
}

/** Records progress and proves the run alive (call it at least once per lease). */
export async function heartbeatSyncRun(db: Queryable, runId: string, counts: SyncCounts): Promise<void> {
  await db.query(
    `UPDATE integration_sync_runs
        SET heartbeat_at = now(), read = $2, created = $3, updated = $4, unchanged = $5,
            deleted = $6, failed = $7, requests = $8
      WHERE run_id = $1 AND status = 'running'`,
    [runId, ...countValues(counts)],
  );
}

/** The counts in the order the run's UPDATEs set them: read, created, updated, unchanged, deleted, failed, requests. */
const countValues = (c: SyncCounts) => [c.read, c.created, c.updated, c.unchanged, c.deleted, c.failed, c.requests];

/**
 * Closes a run: succeeded; partial when it stopped early at a limit (`stopped` says which, the next
 * run resumes); or failed with the error's reason. Returns the run's result.
 */
export async function finishSyncRun(
  db: Queryable,
  system: System,
  runId: string,
  counts: SyncCounts,
  error?: Error,
  stopped?: string,
): Promise<SyncResult> {
  const reason = error ? `${error.name}: ${error.message}`.slice(0, 2000) : null;
  const { rowCount } = await db.query(
    `UPDATE integration_sync_runs
        SET status = $2, finished_at = now(), heartbeat_at = now(), read = $3, created = $4, updated = $5,
            unchanged = $6, deleted = $7, failed = $8, requests = $9, error = $10, stop_reason = $11
      WHERE run_id = $1 AND status = 'running'`,
    [
      runId,
      error ? "failed" : stopped ? "partial" : "succeeded",
      ...countValues(counts),
      reason,
      stopped?.slice(0, 2000) ?? null,
    ],
  );
  if (rowCount !== 1) throw new Error(`sync run ${runId} was not running (abandoned by a later run?)`);
  return { system, run_id: runId, ...counts };
}

/** A cursor an incremental read resumes from (undefined before the first full sync). */
export async function readCursor(db: Queryable, system: System, name: string): Promise<string | undefined> {
  const { rows } = await db.query<{ value: string }>(
    "SELECT value FROM integration_cursors WHERE system = $1 AND name = $2",
    [system, name],
  );
  return rows[0]?.value;
}

/** Moves a cursor; write it in the transaction that stores the records read up to it. */
export async function writeCursor(db: Queryable, system: System, name: string, value: string): Promise<void> {
  await db.query(
    `INSERT INTO integration_cursors (system, name, value) VALUES ($1, $2, $3)
     ON CONFLICT (system, name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [system, name, value],
  );
}

export async function clearCursor(db: Queryable, system: System, name: string): Promise<void> {
  await db.query("DELETE FROM integration_cursors WHERE system = $1 AND name = $2", [system, name]);
}

/**
 * Every sync run in the audit log (console_audit, append-only; migration 130) as the system's sync
 * user: what ran, how it ended and its counts. Never the connection or a token.
 */
export async function auditSyncRun(
  db: Queryable,
  system: System,
  runId: string,
  o: SyncRunOptions,
  counts: SyncCounts,
  error?: Error,
  stopped?: string,
): Promise<void> {
  await db.query(
    `INSERT INTO console_audit (username, role, action, target, outcome, detail)
     VALUES ($1, 'integration', 'sync', $2, $3, $4)`,
    [
      `sync:${system}`,
      runId,
      error ? "error" : "ok",
      JSON.stringify({
        trigger: o.trigger,
        full: o.full,
        dry_run: o.dryRun,
        ...counts,
        ...(error ? { error: `${error.name}: ${error.message}`.slice(0, 500) } : {}),
        ...(stopped ? { partial: stopped.slice(0, 500) } : {}),
      }),
    ],
  );
}

/** What the runs of one budget day spent of a daily budget so far (0 before the day's first run). */
export async function readTokenSpend(db: Queryable, system: System, day: string): Promise<number> {
  const { rows } = await db.query<{ tokens: string }>(
    "SELECT tokens FROM integration_token_spend WHERE system = $1 AND budget_day = $2",
    [system, day],
  );
  return Number(rows[0]?.tokens ?? 0);
}

/** Records the day's spend so far (the total, not an increment: saving it again changes nothing). */
export async function saveTokenSpend(db: Queryable, system: System, day: string, tokens: number): Promise<void> {
  await db.query(
    `INSERT INTO integration_token_spend (system, budget_day, tokens) VALUES ($1, $2, $3)
     ON CONFLICT (system, budget_day) DO UPDATE SET tokens = GREATEST(integration_token_spend.tokens, EXCLUDED.tokens),
       updated_at = now()`,
    [system, day, tokens],
  );
}
