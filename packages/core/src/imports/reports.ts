import { Readable } from "node:stream";
import type { Deps } from "../ports";
import type { PoolClient, Queryable } from "../db";
import { copyOut } from "../copy";
import { csvDocument, csvLine } from "../csv/write";
import * as Sources from "../sources/index";
import type { ChunkTotals, ImportRow, ImportStatus } from "./repo";

/**
 * The reports of an import, written to reports/<import id>/ in its bucket when it ends (COMPLETE,
 * COMPLETE_WITH_ERRORS or FAILED): what arrived, what was accepted, what was rejected and why,
 * readable without logs or SQL. Every CSV goes through csv/write.ts (formula injection neutralized).
 */
export const REPORT_FILES = { success: "success.csv", errors: "errors.csv", checklist: "checklist.json" } as const;
export const SUCCESS_HEADER = [
  "import_id",
  "filename",
  "total_rows",
  "inserted",
  "updated",
  "skipped",
  "errors",
  "duration_sec",
  "status",
] as const;
export const ERROR_HEADER = ["row_number", "error_type", "field_name", "field_value", "error_message"] as const;

export function reportsPrefix(importId: string): string {
  return `reports/${importId}/`;
}

/** How the import ended, before it is recorded: the reports are written first, so a terminal import always has them. */
export interface Outcome {
  status: ImportStatus;
  reason: string | null;
  totals: ChunkTotals;
}

/** Writes the three reports; returns their prefix. Safe to repeat (a retried step overwrites them with the same content). */
export async function writeReports(deps: Deps, imp: ImportRow, outcome: Outcome): Promise<string> {
  const prefix = reportsPrefix(imp.id);
  const { store, pool } = deps;
  await store.write(imp.bucket, prefix + REPORT_FILES.success, successReport(imp, outcome), "text/csv");
  await store.write(
    imp.bucket,
    prefix + REPORT_FILES.checklist,
    JSON.stringify(await checklist(pool, imp, outcome), null, 2) + "\n",
    "application/json",
  );
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    const fileError = outcome.status === "FAILED" ? outcome.reason : null;
    await store.write(
      imp.bucket,
      prefix + REPORT_FILES.errors,
      Readable.from(errorReportLines(client, imp.id, fileError)),
      "text/csv",
    );
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    // A COPY cut short leaves the connection mid-protocol: drop it rather than reuse it.
    client.release(failed);
  }
  return prefix;
}

export function successReport(imp: ImportRow, outcome: Outcome): string {
  const { totals } = outcome;
  const started = imp.started_at ?? imp.created_at;
  const seconds = imp.finished_at ? (imp.finished_at.getTime() - started.getTime()) / 1000 : null;
  return csvDocument(SUCCESS_HEADER, [
    [
      imp.id,
      imp.file_name,
      totals.staged,
      totals.inserted,
      totals.updated,
      totals.unchanged,
      totals.rejected,
      seconds === null ? null : seconds.toFixed(3),
      outcome.status,
    ],
  ]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The error report, streamed from the database (COPY TO) in ~64 KB pieces: an import with a
 * million rejects never holds them in memory. A failed import's reason comes first, as a row
 * without a row number.
 */
export async function* errorReportLines(
  client: PoolClient,
  importId: string,
  fileError: string | null,
): AsyncGenerator<string> {
  if (!UUID.test(importId)) throw new Error(`not an import id: ${importId}`);
  let batch = csvLine(ERROR_HEADER);
  if (fileError) batch += csvLine([null, "file", null, null, fileError]);
  const rows = copyOut(
    client,
    `SELECT row_number, error_type, field_name, field_value, error_message FROM import_rejects
      WHERE import_id = '${importId}' ORDER BY row_number, field_name NULLS FIRST, error_message`,
  );
  for await (const [row, ...rest] of rows) {
    batch += csvLine([row === null ? null : Number(row), ...rest]);
    if (batch.length >= 1 << 16) {
      yield batch;
      batch = "";
    }
  }
  if (batch) yield batch;
}

type CheckStatus = "pass" | "warn" | "fail" | "not_checked";
interface Check {
  status: CheckStatus;
  [detail: string]: unknown;
}

export interface Checklist {
  import_id: string;
  file: string;
  source: string | null;
  schema_version: number | null;
  status: ImportStatus;
  checks: {
    file_readable: Check;
    schema_matches: Check;
    required_fields_present: Check;
    row_count_matches_file: Check;
    duplicate_rows_in_batch: Check;
    invalid_values_by_kind: Check;
    data_types_valid: Check;
  };
  overall_status: "pass" | "warn" | "fail";
}

/** The messages fields.ts gives a missing required value and a value of the wrong shape ("expected …"). */
const MISSING = "required value is missing";
const WRONG_SHAPE = /^expected /;
/** Validate's FileRejectedError for a header that does not match the source's columns. */
const HEADER_MISMATCH = /header does not match/;

export async function checklist(db: Queryable, imp: ImportRow, outcome: Outcome): Promise<Checklist> {
  const { totals, status } = outcome;
  const validated = Boolean(imp.step_timings.validate?.finished_at);
  const staged = imp.chunks_total !== null;
  const processed = status !== "FAILED";
  const failedInValidate = status === "FAILED" && !validated;
  const reason = outcome.reason ?? "";

  const kinds = (
    await db.query<{ error_type: string; field_name: string | null; error_message: string; rows: number }>(
      `SELECT error_type, field_name, error_message, count(DISTINCT row_number)::int AS rows
       FROM import_rejects WHERE import_id = $1 GROUP BY 1, 2, 3 ORDER BY 1, 2 NULLS FIRST, 3`,
      [imp.id],
    )
  ).rows;
  const rowsWhere = async (filter: string, params: unknown[]) =>
    (
      await db.query<{ n: number }>(
        `SELECT count(DISTINCT row_number)::int AS n FROM import_rejects WHERE import_id = $1 AND ${filter}`,
        [imp.id, ...params],
      )
    ).rows[0]!.n;
  const byField = (pick: (k: (typeof kinds)[number]) => boolean) => {
    const out: Record<string, number> = {};
    for (const k of kinds.filter(pick)) out[k.field_name ?? ""] = (out[k.field_name ?? ""] ?? 0) + k.rows;
    return out;
  };

  const fileReadable: Check = validated
    ? { status: "pass" }
    : failedInValidate && !HEADER_MISMATCH.test(reason)
      ? { status: "fail", reason }
      : { status: "not_checked" };
  const schemaMatches: Check = validated
    ? { status: "pass" }
    : failedInValidate && HEADER_MISMATCH.test(reason)
      ? { status: "fail", reason }
      : { status: "not_checked" };

  let required: Check = { status: "not_checked" };
  let types: Check = { status: "not_checked" };
  let invalid: Check = { status: "not_checked" };
  let duplicates: Check = { status: "not_checked" };
  let rowCount: Check = { status: "not_checked" };
  if (staged) {
    const missingRows = await rowsWhere("error_message = $2", [MISSING]);
    required = {
      status: missingRows > 0 ? "fail" : "pass",
      rows: missingRows,
      fields: byField((k) => k.error_message === MISSING),
    };
    const wrongShape = await rowsWhere("error_type = 'validation' AND error_message ~ '^expected '", []);
    types = {
      status: wrongShape > 0 ? "fail" : "pass",
      rows: wrongShape,
      fields: byField((k) => k.error_type === "validation" && WRONG_SHAPE.test(k.error_message)),
    };
    invalid = { status: totals.rejected > 0 ? "fail" : "pass", rows: totals.rejected, kinds };
    duplicates = await duplicateRows(db, imp);
    const counted = totals.rows_read === totals.staged && totals.rows_read === totals.accepted + totals.rejected;
    rowCount = {
      status: processed && counted ? "pass" : "fail",
      rows_in_file: totals.staged,
      rows_read: totals.rows_read,
      accepted: totals.accepted,
      rejected: totals.rejected,
    };
  }

  const checks = {
    file_readable: fileReadable,
    schema_matches: schemaMatches,
    required_fields_present: required,
    row_count_matches_file: rowCount,
    duplicate_rows_in_batch: duplicates,
    invalid_values_by_kind: invalid,
    data_types_valid: types,
  };
  const statuses = Object.values(checks).map((c) => c.status);
  const overall = status === "FAILED" ? "fail" : statuses.some((s) => s === "fail" || s === "warn") ? "warn" : "pass";
  return {
    import_id: imp.id,
    file: imp.file_name,
    source: imp.source,
    schema_version: imp.schema_version,
    status,
    checks,
    overall_status: overall,
  };
}

/**
 * Accepted rows of this batch that repeat the canonical key of another row of the same batch
 * (the last one wins; worth a look, not an error). Each chunk recorded its staged rows and their
 * distinct keys, which counts the repeats inside chunks; when the target's inserts are one per new
 * key and every chunk inserted all its keys, no key can repeat across chunks either (the later
 * chunk would have found it), and the batch is not read again. Otherwise it is counted over the
 * batch's staged rows.
 */
async function duplicateRows(db: Queryable, imp: ImportRow): Promise<Check> {
  const target = Sources.get(imp.source ?? "")?.target;
  if (!target) return { status: "not_checked" };
  const key = target.key ?? target.columns;
  const {
    rows: [chunks],
  } = await db.query<{ fresh: boolean | null; within: number | null }>(
    `SELECT bool_and(inserted = distinct_keys AND staged_rows = accepted) AS fresh, sum(staged_rows - distinct_keys)::int AS within
       FROM import_chunks WHERE import_id = $1`,
    [imp.id],
  );
  let n: number;
  if (target.insertsByKey && target.key && chunks!.fresh) {
    n = chunks!.within ?? 0;
  } else {
    const cols = key.map((c) => `"${c}"`).join(", ");
    n = (
      await db.query<{ n: number }>(
        `SELECT coalesce(sum(n - 1), 0)::int AS n FROM (
         SELECT count(*) AS n FROM ${target.stagingTable} WHERE import_id = $1 GROUP BY ${cols} HAVING count(*) > 1) AS repeated`,
        [imp.id],
      )
    ).rows[0]!.n;
  }
  return { status: n > 0 ? "warn" : "pass", rows: n, key: [...key] };
}
