import type { Queryable } from "../db";
import type { ChunkCounts } from "./process-chunk";
import type { ImportStatus } from "./repo";
import type { ChunkRef } from "./stage";

/**
 * The import lifecycle: every change of `imports.status` and `import_chunks.status` is one of
 * the named transitions below, and nothing else writes those columns (settle_errors_only_replay,
 * the SQL rule that settles an original after its errors-only replay, is called from here).
 *
 *   PENDING ──validating──▶ STAGING ──staged──▶ PROCESSING ──completed──▶ COMPLETE | COMPLETE_WITH_ERRORS
 *      │                       │ └──duplicate──▶ DUPLICATE        │   ▲
 *      └───────────────────────┴──────────failed─────────────────┴───┼──▶ FAILED (failed_step, status_reason)
 *                                                      recovering ───┘ (its execution is gone: a new one resumes it)
 *   chunk: PENDING ──chunkDone──▶ DONE (with its counts; the import's chunks_done follows)
 *   COMPLETE ⇄ COMPLETE_WITH_ERRORS: reconciled (a later import rejected some of its rows)
 *
 * A terminal import (TERMINAL) never changes status again, except between the two COMPLETE states.
 */
export const TERMINAL: readonly ImportStatus[] = ["COMPLETE", "COMPLETE_WITH_ERRORS", "FAILED", "DUPLICATE"];
const TERMINAL_SQL = "('COMPLETE', 'COMPLETE_WITH_ERRORS', 'FAILED', 'DUPLICATE')";

/** Records that a step started: the import's current step and its start time. */
export async function stepStarted(db: Queryable, id: string, step: string): Promise<void> {
  await started(db, id, step, null);
}

async function started(db: Queryable, id: string, step: string, status: ImportStatus | null): Promise<void> {
  await db.query(
    `UPDATE imports SET current_step = $2, status = coalesce($3, status), started_at = coalesce(started_at, now()),
        step_timings = step_timings || jsonb_build_object($2::text, jsonb_build_object('started_at', now()))
      WHERE id = $1`,
    [id, step, status],
  );
}

export async function stepFinished(db: Queryable, id: string, step: string): Promise<void> {
  await db.query(
    `UPDATE imports SET step_timings = jsonb_set(step_timings, ARRAY[$2::text],
        coalesce(step_timings -> $2, '{}'::jsonb) || jsonb_build_object('finished_at', now(),
          'ms', round(extract(epoch FROM now() - coalesce((step_timings -> $2 ->> 'started_at')::timestamptz, now())) * 1000)))
      WHERE id = $1`,
    [id, step],
  );
}

/** PENDING → STAGING: Validate took the import (its first step). */
export async function validating(db: Queryable, id: string): Promise<void> {
  await started(db, id, "validate", "STAGING");
}

/** STAGING → DUPLICATE: the same content from the same source is already imported (counts all zero). */
export async function duplicate(
  db: Queryable,
  id: string,
  d: { sha256: string; size: number; of: string | null; reason: string },
): Promise<void> {
  await db.query(
    `UPDATE imports SET status = 'DUPLICATE', sha256 = $2, size_bytes = $3, duplicate_of = $4, finished_at = now(), current_step = NULL,
            status_reason = $5, rows_read = 0, accepted = 0, rejected = 0, inserted = 0, updated = 0, unchanged = 0
      WHERE id = $1`,
    [id, d.sha256, d.size, d.of, d.reason],
  );
}

/**
 * STAGING → PROCESSING: Stage cut the file into these chunks (the chunk plan). Chunks already
 * DONE keep their status; planned chunks beyond the new plan that are not DONE are dropped.
 */
export async function staged(db: Queryable, id: string, chunks: ChunkRef[]): Promise<void> {
  await db.query("DELETE FROM import_chunks WHERE import_id = $1 AND chunk_index >= $2 AND status <> 'DONE'", [
    id,
    chunks.length,
  ]);
  if (chunks.length > 0) {
    await db.query(
      `INSERT INTO import_chunks (import_id, chunk_index, object_key, line_offset, records, byte_range)
       SELECT $1, c.index, c.key, coalesce((c.range->>'line')::bigint - 1, 0), c.records, c.range
         FROM jsonb_to_recordset($2::jsonb) AS c(index int, key text, records int, range jsonb)
       ON CONFLICT (import_id, chunk_index) DO UPDATE SET object_key = excluded.object_key, records = excluded.records,
         line_offset = excluded.line_offset, byte_range = excluded.byte_range`,
      [id, JSON.stringify(chunks)],
    );
  }
  await db.query("UPDATE imports SET chunks_total = $2, status = 'PROCESSING' WHERE id = $1", [id, chunks.length]);
}

export interface ChunkFacts {
  durationMs: number;
  /** Rows staged and distinct keys among them (the promotion's plan inputs). */
  stagedRows: number;
  distinctKeys: number;
}

/** Chunk PENDING → DONE with its counts, in the chunk's transaction; the import's progress follows. */
export async function chunkDone(
  db: Queryable,
  id: string,
  chunk: number,
  c: ChunkCounts,
  f: ChunkFacts,
): Promise<void> {
  await db.query(
    `UPDATE import_chunks SET status = 'DONE', attempts = attempts + 1, rows_read = $3, accepted = $4, rejected = $5,
            inserted = $6, updated = $7, unchanged = $8, duration_ms = $9, finished_at = now(),
            staged_rows = $10, distinct_keys = $11
      WHERE import_id = $1 AND chunk_index = $2`,
    [
      id,
      chunk,
      c.rows_read,
      c.accepted,
      c.rejected,
      c.inserted,
      c.updated,
      c.unchanged,
      f.durationMs,
      f.stagedRows,
      f.distinctKeys,
    ],
  );
  // Progress for the dashboard and the CLI; last, so the row lock on imports is held briefly.
  await db.query("UPDATE imports SET chunks_done = chunks_done + 1 WHERE id = $1", [id]);
}

/**
 * PROCESSING → COMPLETE | COMPLETE_WITH_ERRORS, with its reports written (call inside a
 * transaction): an errors-only replay also settles its original (settle_errors_only_replay).
 */
export async function completed(
  db: Queryable,
  id: string,
  end: {
    status: "COMPLETE" | "COMPLETE_WITH_ERRORS";
    reason: string | null;
    reportsPrefix: string | null;
    settles?: { stagingTable: string };
  },
): Promise<void> {
  await db.query(
    "UPDATE imports SET status = $2, status_reason = $3, current_step = NULL, reports_prefix = $4 WHERE id = $1",
    [id, end.status, end.reason, end.reportsPrefix],
  );
  if (end.settles) await db.query("SELECT * FROM settle_errors_only_replay($1, $2)", [id, end.settles.stagingTable]);
}

/**
 * COMPLETE ⇄ COMPLETE_WITH_ERRORS: a finished import's counts brought up to date with its chunks
 * (a later import rejected some of its rows). False when the import is not finished (left alone).
 */
export async function reconciled(
  db: Queryable,
  id: string,
  t: ChunkCounts,
  end: {
    status: "COMPLETE" | "COMPLETE_WITH_ERRORS";
    reason: string | null;
  },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE imports SET rows_read = $2, accepted = $3, rejected = $4, inserted = $5, updated = $6, unchanged = $7,
            status = $8, status_reason = $9
      WHERE id = $1 AND status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS')`,
    [id, t.rows_read, t.accepted, t.rejected, t.inserted, t.updated, t.unchanged, end.status, end.reason],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Any non-terminal status → FAILED: the step it was in becomes failed_step, with the reason.
 * A terminal import is left as it is (false).
 */
export async function failed(
  db: Queryable,
  id: string,
  f: { reason: string; reportsPrefix?: string | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE imports SET status = 'FAILED', status_reason = $2, failed_step = current_step, current_step = NULL,
            reports_prefix = coalesce($3, reports_prefix), finished_at = coalesce(finished_at, now())
      WHERE id = $1 AND status NOT IN ${TERMINAL_SQL}`,
    [id, f.reason, f.reportsPrefix ?? null],
  );
  return (rowCount ?? 0) > 0;
}

/** PENDING → FAILED: the import's execution could not be started (a replay: it would block the next one). */
export async function notStarted(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query(
    "UPDATE imports SET status = 'FAILED', status_reason = $2, finished_at = now() WHERE id = $1 AND status = 'PENDING'",
    [id, reason],
  );
}

/**
 * An execution ended and left its import non-terminal (its MarkFailed could not record the
 * failure): FAILED with the step it was in. The local runtime's guard; recovery resumes such
 * imports where it can instead.
 */
export async function executionEnded(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE imports SET status = 'FAILED', failed_step = current_step, status_reason = $2, finished_at = now()
      WHERE id = $1 AND status NOT IN ${TERMINAL_SQL}`,
    [id, `execution ended without a terminal status: ${reason}`],
  );
}

/**
 * A non-terminal import whose execution is gone is taken over by a new execution (named here):
 * its status stays as it is, the recovery is counted. False when another recovery (or the
 * import's end) got there first: exactly one caller starts the new execution.
 */
export async function recovering(
  db: Queryable,
  id: string,
  expected: { status: ImportStatus; recoveries: number },
  executionName: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE imports SET execution_name = $4, recoveries = recoveries + 1, recovered_at = now()
      WHERE id = $1 AND status = $2 AND recoveries = $3`,
    [id, expected.status, expected.recoveries, executionName],
  );
  return (rowCount ?? 0) > 0;
}

/** Whether the failure alert went out (recorded on the import; not a status change). */
export async function alerted(db: Queryable, id: string, error?: Error): Promise<void> {
  if (error) {
    await db.query("UPDATE imports SET alert_status = 'FAILED', alert_error = $2 WHERE id = $1", [
      id,
      `${error.name}: ${error.message}`,
    ]);
  } else {
    await db.query("UPDATE imports SET alert_status = 'SENT', alert_error = NULL, alerted_at = now() WHERE id = $1", [
      id,
    ]);
  }
}
