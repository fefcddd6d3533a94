import type { Deps } from "../ports";
import { asRetryable } from "../errors";
import * as Sources from "../sources/index";
import { getImport, stepFinished, stepStarted, type ImportRow } from "./repo";
import type { ChunkCounts } from "./process-chunk";

export interface Reconciliation extends ChunkCounts {
  import_id: string;
  file: string;
  source: string | null;
  partner: string | null;
  status: string;
}

/**
 * Adds up the chunks, proves the reconciliation (rows read = accepted + rejected; accepted =
 * inserted + updated + unchanged; rows read = records staged), stores it on the import, ends
 * the import COMPLETE or COMPLETE_WITH_ERRORS, and refreshes the views that read its data.
 */
export async function finalize(deps: Deps, importId: string): Promise<Reconciliation> {
  const { pool } = deps;
  try {
    await stepFinished(pool, importId, "process");
    await stepStarted(pool, importId, "finalize");
    const { rows } = await pool.query<{
      chunks: number; done: number; staged: number; rows_read: number; accepted: number; rejected: number; inserted: number; updated: number; unchanged: number;
    }>(
      `SELECT count(*)::int AS chunks, count(*) FILTER (WHERE status = 'DONE')::int AS done,
              coalesce(sum(records), 0)::bigint AS staged,
              coalesce(sum(rows_read), 0)::bigint AS rows_read, coalesce(sum(accepted), 0)::bigint AS accepted,
              coalesce(sum(rejected), 0)::bigint AS rejected, coalesce(sum(inserted), 0)::bigint AS inserted,
              coalesce(sum(updated), 0)::bigint AS updated, coalesce(sum(unchanged), 0)::bigint AS unchanged
         FROM import_chunks WHERE import_id = $1`, [importId]);
    const t = rows[0]!;
    if (t.done !== t.chunks) throw new Error(`reconciliation: ${t.chunks - t.done} of ${t.chunks} chunks are not done`);
    const problems: string[] = [];
    if (t.rows_read !== t.accepted + t.rejected) problems.push(`rows read ${t.rows_read} ≠ accepted ${t.accepted} + rejected ${t.rejected}`);
    if (t.accepted !== t.inserted + t.updated + t.unchanged) problems.push(`accepted ${t.accepted} ≠ inserted ${t.inserted} + updated ${t.updated} + unchanged ${t.unchanged}`);
    if (t.rows_read !== t.staged) problems.push(`rows read ${t.rows_read} ≠ records in the file ${t.staged}`);
    if (problems.length > 0) throw new Error(`reconciliation failed: ${problems.join("; ")}`);
    const status = t.rejected > 0 ? "COMPLETE_WITH_ERRORS" : "COMPLETE";
    const reason = t.rejected > 0 ? `${t.rejected} of ${t.rows_read} rows rejected` : null;
    await pool.query(
      `UPDATE imports SET status = $2, status_reason = $3, rows_read = $4, accepted = $5, rejected = $6, inserted = $7,
              updated = $8, unchanged = $9, finished_at = now(), current_step = NULL
        WHERE id = $1`,
      [importId, status, reason, t.rows_read, t.accepted, t.rejected, t.inserted, t.updated, t.unchanged]);
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
