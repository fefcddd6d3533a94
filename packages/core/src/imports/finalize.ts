import type { Deps } from "../ports";
import { withTransaction } from "../db";
import { asRetryable } from "../errors";
import * as Sources from "../sources/index";
import { chunkTotals, getImport, stepFinished, stepStarted, type ImportRow } from "./repo";
import type { ChunkCounts } from "./process-chunk";
import { writeReports } from "./reports";

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
    await stepFinished(pool, importId, "process");
    await stepStarted(pool, importId, "finalize");
    const t = await chunkTotals(pool, importId);
    if (t.done !== t.chunks) throw new Error(`reconciliation: ${t.chunks - t.done} of ${t.chunks} chunks are not done`);
    const problems: string[] = [];
    if (t.rows_read !== t.accepted + t.rejected) problems.push(`rows read ${t.rows_read} ≠ accepted ${t.accepted} + rejected ${t.rejected}`);
    if (t.accepted !== t.inserted + t.updated + t.unchanged) problems.push(`accepted ${t.accepted} ≠ inserted ${t.inserted} + updated ${t.updated} + unchanged ${t.unchanged}`);
    if (t.rows_read !== t.staged) problems.push(`rows read ${t.rows_read} ≠ records in the file ${t.staged}`);
    if (problems.length > 0) throw new Error(`reconciliation failed: ${problems.join("; ")}`);
    const status = t.rejected > 0 ? "COMPLETE_WITH_ERRORS" : "COMPLETE";
    const reason = t.rejected > 0 ? `${t.rejected} of ${t.rows_read} rows rejected` : null;
    // Counts and the finish time first, the terminal status last: a terminal import always has its reports.
    await pool.query(
      `UPDATE imports SET rows_read = $2, accepted = $3, rejected = $4, inserted = $5, updated = $6, unchanged = $7, finished_at = now()
        WHERE id = $1`,
      [importId, t.rows_read, t.accepted, t.rejected, t.inserted, t.updated, t.unchanged]);
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
    await withTransaction(pool, async (client) => {
      await client.query(
        "UPDATE imports SET status = $2, status_reason = $3, current_step = NULL, reports_prefix = $4 WHERE id = $1",
        [importId, status, reason, prefix]);
      if (finished.replay_mode === "errors-only" && spec) {
        await client.query("SELECT * FROM settle_errors_only_replay($1, $2)", [importId, spec.target.stagingTable]);
      }
    });
    await stepFinished(pool, importId, "finalize");
    const imp = await getImport(pool, importId);
    await refreshViewsFor(deps, imp);
    return reconciliationOf(imp);
  } catch (err) {
    throw asRetryable(err, "finalizing the import");
  }
}

async function refreshViewsFor(deps: Deps, imp: ImportRow): Promise<void> {
  const spec = Sources.get(imp.source ?? "");
  for (const view of [...(spec?.target.views ?? []), "report_imports_by_day"]) {
    await deps.pool.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${view}`);
  }
}

export function reconciliationOf(imp: ImportRow): Reconciliation {
  return {
    import_id: imp.id, file: imp.file_name, source: imp.source, partner: imp.partner, status: imp.status,
    rows_read: imp.rows_read ?? 0, accepted: imp.accepted ?? 0, rejected: imp.rejected ?? 0,
    inserted: imp.inserted ?? 0, updated: imp.updated ?? 0, unchanged: imp.unchanged ?? 0,
  };
}
