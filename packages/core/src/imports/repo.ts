import type { Queryable } from "../db";

export type ImportStatus = "PENDING" | "STAGING" | "PROCESSING" | "COMPLETE" | "COMPLETE_WITH_ERRORS" | "FAILED" | "DUPLICATE";
export const TERMINAL: readonly ImportStatus[] = ["COMPLETE", "COMPLETE_WITH_ERRORS", "FAILED", "DUPLICATE"];

export interface ImportRow {
  id: string;
  seq: number;
  bucket: string;
  object_key: string;
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
  uploaded_by: string | null;
  created_at: Date;
  finished_at: Date | null;
  step_timings: Record<string, { started_at?: string; finished_at?: string; ms?: number }>;
}

export async function getImport(db: Queryable, id: string): Promise<ImportRow> {
  const { rows } = await db.query<ImportRow>("SELECT * FROM imports WHERE id = $1", [id]);
  if (!rows[0]) throw new Error(`import ${id} does not exist`);
  return rows[0];
}

/** Records that a step started: the import's current step and its start time. */
export async function stepStarted(db: Queryable, id: string, step: string, status?: ImportStatus): Promise<void> {
  await db.query(
    `UPDATE imports SET current_step = $2, status = coalesce($3, status), started_at = coalesce(started_at, now()),
        step_timings = step_timings || jsonb_build_object($2::text, jsonb_build_object('started_at', now()))
      WHERE id = $1`,
    [id, step, status ?? null],
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
