import type { Queryable } from "../db";
import { REPORT_FILES } from "./reports";
import { getImport, type ImportRow } from "./repo";

/**
 * The command that replays an import where it ran: on a deployed stage (LEADPIPE_STAGE set by its stack)
 * through that stage's console (`--stage`, after `leadpipe login --stage`), locally on the local platform.
 * The alerts, `status` and the console all print this one.
 */
export function replayCommand(
  importId: string,
  mode: "full" | "errors-only",
  stage = process.env.LEADPIPE_STAGE,
): string {
  const where = stage && stage !== "local" ? ` --stage ${stage}` : "";
  return `npx leadpipe replay ${importId} --mode ${mode}${where}`;
}

/** The recent imports, newest first, with their progress: `leadpipe status` and the console's API. */
export const RECENT_IMPORTS_SQL = `SELECT i.id, i.file_name, i.source, i.status, i.rows_read, i.accepted, i.rejected, i.inserted,
         i.updated, i.unchanged, p.chunks_done || '/' || coalesce(p.chunks_total, 0) AS chunks, p.rows_done,
         p.rows_per_second, i.replay_of, i.created_at
    FROM imports i JOIN import_progress p USING (id)
   ORDER BY i.seq DESC LIMIT $1`;

export interface ImportProgress {
  chunks_done: number;
  chunks_total: number | null;
  rows_done: number;
  rows_total: number | null;
  processing_seconds: number | null;
  rows_per_second: number | null;
}

export interface RejectSummary {
  error_type: string;
  field_name: string | null;
  error_message: string;
  rows: number;
  /** Rows a later errors-only replay re-ingested. */
  resolved: number;
}

export interface ImportDescription {
  import: ImportRow;
  progress: ImportProgress;
  /** s3:// locations of the reports, once written. */
  reports: { success: string; errors: string; checklist: string } | null;
  rejects: RejectSummary[];
  /** The import this one replays, and the replays of this one. */
  replay_of: { id: string; mode: string } | null;
  replays: {
    id: string;
    mode: string;
    status: string;
    rows_read: number | null;
    accepted: number | null;
    rejected: number | null;
    created_at: Date;
  }[];
  /** Across the original and its errors-only replays (originals only). */
  reconciliation: {
    rows_read: number;
    accepted: number;
    resolved_by_replays: number;
    outstanding_rejects: number;
  } | null;
  replay_command: string;
}

/** One import in full, for the on-call engineer and the dashboard: what arrived, what happened, where the reports are. */
export async function describe(db: Queryable, importId: string): Promise<ImportDescription> {
  const imp = await getImport(db, importId);
  const progress = (
    await db.query<ImportProgress>(
      `SELECT chunks_done, chunks_total, rows_done, rows_total, processing_seconds::float8 AS processing_seconds, rows_per_second::float8 AS rows_per_second
       FROM import_progress WHERE id = $1`,
      [importId],
    )
  ).rows[0]!;
  const rejects = (
    await db.query<RejectSummary>(
      `SELECT error_type, field_name, error_message, count(DISTINCT row_number)::int AS rows,
            count(DISTINCT row_number) FILTER (WHERE resolved_by IS NOT NULL)::int AS resolved
       FROM import_rejects WHERE import_id = $1 GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2 NULLS FIRST, 3`,
      [importId],
    )
  ).rows;
  const replays = (
    await db.query<ImportDescription["replays"][number]>(
      `SELECT id, replay_mode AS mode, status, rows_read, accepted, rejected, created_at FROM imports WHERE replay_of = $1 ORDER BY seq`,
      [importId],
    )
  ).rows;
  const rec = imp.replay_of
    ? undefined
    : (
        await db.query<NonNullable<ImportDescription["reconciliation"]>>(
          `SELECT rows_read, accepted, resolved_by_replays, outstanding_rejects FROM import_replay_reconciliation WHERE import_id = $1`,
          [importId],
        )
      ).rows[0];
  const at = (file: string) => `s3://${imp.bucket}/${imp.reports_prefix}${file}`;
  return {
    import: imp,
    progress,
    reports: imp.reports_prefix
      ? { success: at(REPORT_FILES.success), errors: at(REPORT_FILES.errors), checklist: at(REPORT_FILES.checklist) }
      : null,
    rejects,
    replay_of: imp.replay_of ? { id: imp.replay_of, mode: imp.replay_mode! } : null,
    replays,
    reconciliation: rec ?? null,
    // Rows still rejected: replay only those; otherwise the whole file.
    replay_command: replayCommand(
      imp.replay_of ?? imp.id,
      (rec?.outstanding_rejects ?? imp.rejected ?? 0) > 0 && imp.status !== "FAILED" ? "errors-only" : "full",
    ),
  };
}
