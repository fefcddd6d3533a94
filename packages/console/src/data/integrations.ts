import type { Queryable } from "@leadpipe/core";

/** The last runs of each external system's sync (issue 23), newest first: what the Today page lists. */
export async function lastSyncRuns(db: Queryable, perSystem = 5): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(
    `SELECT system, status, trigger, full_sync, dry_run, started_at, finished_at, read, created, updated,
            unchanged, deleted, failed, requests, error, stop_reason
       FROM (SELECT r.*, row_number() OVER (PARTITION BY system ORDER BY started_at DESC) AS n
               FROM integration_sync_runs r) x
      WHERE n <= $1
      ORDER BY system, started_at DESC`,
    [perSystem],
  );
  return rows;
}
