import type { Deps } from "../ports";
import { withTransaction, type Queryable } from "../db";
import { asRetryable } from "../errors";
import * as Sources from "../sources/index";
import { chunkTotals, getImport, type ChunkTotals, type ImportRow } from "./repo";
import * as Lifecycle from "./lifecycle";
import type { ChunkCounts } from "./process-chunk";
import { writeReports } from "./reports";
import * as Reports from "../reports/index";

export interface Reconciliation extends ChunkCounts {
  import_id: string;
  file: string;
  source: string | null;
  partner: string | null;
  status: string;
}

/**
 * Adds up the chunks, proves the reconciliation (rows read = accepted + rejected; accepted =
 * inserted + updated + unchanged; rows read = records staged), stores it on the import, writes
 * the reports, ends the import COMPLETE or COMPLETE_WITH_ERRORS (an errors-only replay also
 * settles its original), and refreshes the views that read its data.
 */
export async function finalize(deps: Deps, importId: string): Promise<Reconciliation> {
  const { pool } = deps;
  try {
    await Lifecycle.stepFinished(pool, importId, "process");
    await Lifecycle.stepStarted(pool, importId, "finalize");
    const t = await chunkTotals(pool, importId);
    if (t.done !== t.chunks) throw new Error(`reconciliation: ${t.chunks - t.done} of ${t.chunks} chunks are not done`);
    const problems: string[] = [];
    if (t.rows_read !== t.accepted + t.rejected)
      problems.push(`rows read ${t.rows_read} ≠ accepted ${t.accepted} + rejected ${t.rejected}`);
    if (t.accepted !== t.inserted + t.updated + t.unchanged)
      problems.push(
        `accepted ${t.accepted} ≠ inserted ${t.inserted} + updated ${t.updated} + unchanged ${t.unchanged}`,
      );
    if (t.rows_read !== t.staged) problems.push(`rows read ${t.rows_read} ≠ records in the file ${t.staged}`);
    if (problems.length > 0) throw new Error(`reconciliation failed: ${problems.join("; ")}`);
    const status = t.rejected > 0 ? "COMPLETE_WITH_ERRORS" : "COMPLETE";
    const reason = await rejectedReason(pool, importId, t.rejected, t.rows_read);
    // Counts and the finish time first, the terminal status last: a terminal import always has its reports.
    await pool.query(
      `UPDATE imports SET rows_read = $2, accepted = $3, rejected = $4, inserted = $5, updated = $6, unchanged = $7, finished_at = now()
        WHERE id = $1`,
      [importId, t.rows_read, t.accepted, t.rejected, t.inserted, t.updated, t.unchanged],
    );
    const finished = await getImport(pool, importId);
    const spec = Sources.get(finished.source ?? "");
    // File-level rules (a full do-not-call file replacing its area codes) need the whole file: not
    // for an errors-only replay, which carries only the rows its original rejected.
    const complete = spec?.target.complete;
    if (complete && finished.replay_mode !== "errors-only") {
      const changed = await withTransaction(pool, (client) => complete(client, importId));
      deps.log.info("file-level rules applied", { importId, changed });
    }
    const prefix = await writeReports(deps, finished, { status, reason, totals: t });
    await withTransaction(pool, (client) =>
      Lifecycle.completed(client, importId, {
        status,
        reason,
        reportsPrefix: prefix,
        ...(finished.replay_mode === "errors-only" && spec
          ? { settles: { stagingTable: spec.target.stagingTable } }
          : {}),
      }),
    );
    await Lifecycle.stepFinished(pool, importId, "finalize");
    // Rows of this import rejected while it finalized, and rows of other imports that this one's
    // rows rejected later (see reject_foreign_claims): their counts, status and reports follow.
    if (!sameCounts(t, await chunkTotals(pool, importId))) await refreshReconciliation(deps, importId);
    await refreshImportsRejectedBy(deps, importId);
    const imp = await getImport(pool, importId);
    await refreshViewsFor(deps, imp);
    return reconciliationOf(imp);
  } catch (err) {
    throw asRetryable(err, "finalizing the import");
  }
}

const sameCounts = (a: ChunkTotals, b: ChunkTotals) =>
  (["rows_read", "accepted", "rejected", "inserted", "updated", "unchanged"] as const).every(
    (k) => Number(a[k]) === Number(b[k]),
  );

/** "2 of 6 rows rejected", saying how many were rejected after the import ended and why. */
async function rejectedReason(
  db: Queryable,
  importId: string,
  rejected: number,
  rowsRead: number,
): Promise<string | null> {
  if (rejected === 0) return null;
  const {
    rows: [r],
  } = await db.query<{ later: number }>(
    "SELECT count(DISTINCT row_number)::int AS later FROM import_rejects WHERE import_id = $1 AND rejected_later_by IS NOT NULL",
    [importId],
  );
  const later = r!.later;
  return (
    `${rejected} of ${rowsRead} rows rejected` +
    (later > 0
      ? ` (${later} later, when the mortgage ${later === 1 ? "it claims" : "they claim"} arrived from another partner)`
      : "")
  );
}

/**
 * Brings a finished import (COMPLETE or COMPLETE_WITH_ERRORS) up to date with its chunks after a
 * later import rejected some of its rows: a barcode map's claim on a mortgage that then arrived
 * from another partner (reject_foreign_claims). Counts, status, reason and reports; idempotent.
 */
export async function refreshReconciliation(deps: Deps, importId: string): Promise<void> {
  const { pool } = deps;
  const t = await chunkTotals(pool, importId);
  const {
    rows: [o],
  } = await pool.query<{ outstanding: number }>(
    "SELECT count(DISTINCT row_number) FILTER (WHERE resolved_by IS NULL)::int AS outstanding FROM import_rejects WHERE import_id = $1",
    [importId],
  );
  const outstanding = o!.outstanding;
  const status = outstanding > 0 ? "COMPLETE_WITH_ERRORS" : "COMPLETE";
  const reason = await rejectedReason(pool, importId, outstanding, Number(t.rows_read));
  if (!(await Lifecycle.reconciled(pool, importId, t, { status, reason }))) return;
  await writeReports(deps, await getImport(pool, importId), { status, reason, totals: t });
  deps.log.info("reconciliation refreshed after a later rejection", { importId, ...t });
}

/** Refreshes the finished imports some of whose rows this import's rows rejected later (its chunks that committed count, even if it failed). */
export async function refreshImportsRejectedBy(deps: Deps, importId: string): Promise<void> {
  const { rows } = await deps.pool.query<{ import_id: string }>(
    `SELECT DISTINCT r.import_id FROM import_rejects r JOIN imports i ON i.id = r.import_id
      WHERE r.rejected_later_by = $1 AND r.import_id <> $1 AND i.status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS')`,
    [importId],
  );
  for (const other of rows) await refreshReconciliation(deps, other.import_id);
}

/**
 * Marks the views this import made stale and runs the coalesced refresh: when another import's
 * finalize is already refreshing, it takes this import's work too and this one returns at once.
 */
async function refreshViewsFor(deps: Deps, imp: ImportRow): Promise<void> {
  const spec = Sources.get(imp.source ?? "");
  await Reports.markStale(deps.pool, spec ? [spec.target.kind] : [], spec?.target.views ?? []);
  try {
    const r = await Reports.refreshPending(deps.pool);
    if (r.ran) deps.log.info("reports refreshed", { importId: imp.id, pieces: r.pieces, views: r.views });
  } catch (err) {
    // The import is complete; its marks stay for the next refresh (another import's, nightly, on demand).
    deps.log.error("reports refresh failed; the marks wait for the next refresh", { importId: imp.id, err });
  }
}

export function reconciliationOf(imp: ImportRow): Reconciliation {
  return {
    import_id: imp.id,
    file: imp.file_name,
    source: imp.source,
    partner: imp.partner,
    status: imp.status,
    rows_read: imp.rows_read ?? 0,
    accepted: imp.accepted ?? 0,
    rejected: imp.rejected ?? 0,
    inserted: imp.inserted ?? 0,
    updated: imp.updated ?? 0,
    unchanged: imp.unchanged ?? 0,
  };
}
