import type { Queryable } from "../db";
import type { ChunkCounts } from "./process-chunk";
import type { ChunkRef } from "./stage";

export type ImportStatus =
  | "PENDING"
  | "STAGING"
  | "PROCESSING"
  | "COMPLETE"
  | "COMPLETE_WITH_ERRORS"
  | "FAILED"
  | "DUPLICATE";
export { TERMINAL } from "./lifecycle";

export interface ImportRow {
  id: string;
  seq: number;
  bucket: string;
  object_key: string;
  /** The ETag of the object version the event announced (null when unknown). */
  etag: string | null;
  file_name: string;
  source: string | null;
  partner: string | null;
  kind: string | null;
  size_bytes: number | null;
  sha256: string | null;
  status: ImportStatus;
  status_reason: string | null;
  current_step: string | null;
  failed_step: string | null;
  duplicate_of: string | null;
  chunks_total: number | null;
  chunks_done: number;
  rows_read: number | null;
  accepted: number | null;
  rejected: number | null;
  inserted: number | null;
  updated: number | null;
  unchanged: number | null;
  schema_version: number | null;
  uploaded_by: string | null;
  uploaded_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  /** The import this one replays (always an original), and how. */
  replay_of: string | null;
  replay_mode: "full" | "errors-only" | null;
  /** Byte-range chunks Checksum planned while it hashed the object (Stage uses them instead of reading it again). */
  planned_chunks: ChunkRef[] | null;
  /** The landing sequence its rows carry: for a replay, the original's. */
  lineage_seq: number | null;
  reports_prefix: string | null;
  alert_status: "SENT" | "FAILED" | null;
  alert_error: string | null;
  step_timings: Record<string, { started_at?: string; finished_at?: string; ms?: number }>;
  /** The execution running the import, when not the one named after it (a recovery started it). */
  execution_name: string | null;
  /** How many times recovery took the import over after its execution was gone. */
  recoveries: number;
  recovered_at: Date | null;
}

export async function getImport(db: Queryable, id: string): Promise<ImportRow> {
  const { rows } = await db.query<ImportRow>("SELECT * FROM imports WHERE id = $1", [id]);
  if (!rows[0]) throw new Error(`import ${id} does not exist`);
  return rows[0];
}

export interface ChunkTotals extends ChunkCounts {
  chunks: number;
  done: number;
  /** Records Stage cut from the file (the rows the file holds). */
  staged: number;
}

/** The counts of an import's chunks: all of them (finalize), or as far as it got (a failed import). */
export async function chunkTotals(db: Queryable, id: string): Promise<ChunkTotals> {
  const { rows } = await db.query<ChunkTotals>(
    `SELECT count(*)::int AS chunks, count(*) FILTER (WHERE status = 'DONE')::int AS done,
            coalesce(sum(records), 0)::bigint AS staged,
            coalesce(sum(rows_read), 0)::bigint AS rows_read, coalesce(sum(accepted), 0)::bigint AS accepted,
            coalesce(sum(rejected), 0)::bigint AS rejected, coalesce(sum(inserted), 0)::bigint AS inserted,
            coalesce(sum(updated), 0)::bigint AS updated, coalesce(sum(unchanged), 0)::bigint AS unchanged
       FROM import_chunks WHERE import_id = $1`,
    [id],
  );
  return rows[0]!;
}
