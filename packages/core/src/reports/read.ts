import { get, reports, type Report } from "./catalogue";
import { quoteIdent } from "./refresh";

/** Runs one parameterised query (the CLI passes its read-only path). */
export type RunQuery = (sql: string, params: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

export class ReportFilterError extends Error {
  override name = "ReportFilterError";
}

export interface Filter {
  column: string;
  /** null: the column is blank (IS NULL). */
  value: string | null;
}

/** "column=value" as typed; the column must be one of the report's (checked by `query`). */
export function parseFilter(arg: string): Filter {
  const i = arg.indexOf("=");
  if (i <= 0) throw new ReportFilterError(`--where takes column=value, got "${arg}"`);
  const value = arg.slice(i + 1);
  return { column: arg.slice(0, i).trim(), value: value === "" ? null : value };
}

/**
 * The SQL and parameters that read a report: its columns in catalogue order, filtered by equality
 * on catalogue columns only (compared as text, so 2026-11-20 and 42 mean what they say), in the
 * report's order. No text typed by a user reaches the SQL except as a parameter.
 */
export function query(report: Report, filters: readonly Filter[], limit?: number): { sql: string; params: unknown[] } {
  const known = new Set(report.columns.map((c) => c.name));
  const params: unknown[] = [];
  const where = filters.map((f) => {
    if (!known.has(f.column)) {
      throw new ReportFilterError(
        `report ${report.name} has no column "${f.column}"; its columns are: ${[...known].join(", ")}`,
      );
    }
    if (f.value === null) return `${quoteIdent(f.column)} IS NULL`;
    params.push(f.value);
    return `${quoteIdent(f.column)}::text = $${params.length}`;
  });
  let sql = `SELECT ${report.columns.map((c) => quoteIdent(c.name)).join(", ")} FROM ${quoteIdent(report.relation)}`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  sql += ` ORDER BY ${report.orderBy.map(quoteIdent).join(", ")}`;
  if (limit !== undefined) {
    // a whole number checked here, written into the text: without filters the query takes no
    // parameters, so the whole-report read can go as COPY (which takes none)
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new ReportFilterError(`the row limit must be a whole number, got ${limit}`);
    sql += ` LIMIT ${limit}`;
  }
  return { sql, params };
}

export interface Shown {
  report: Report;
  dataAsOf: Date | null;
  columns: string[];
  rows: Record<string, unknown>[];
}

/** Reads a report with its "data as of" (null: never refreshed). */
export async function show(
  run: RunQuery,
  name: string,
  filters: readonly Filter[] = [],
  limit?: number,
): Promise<Shown> {
  return read(run, run, name, filters, limit);
}

/** A report's rows as `fetch` gives them, with its columns and "data as of" (`run` reads that). */
async function read<Row>(
  fetch: (sql: string, params: unknown[]) => Promise<{ rows: Row[] }>,
  run: RunQuery,
  name: string,
  filters: readonly Filter[],
  limit: number | undefined,
): Promise<{ report: Report; dataAsOf: Date | null; columns: string[]; rows: Row[] }> {
  const report = get(name);
  const q = query(report, filters, limit);
  const { rows } = await fetch(q.sql, q.params);
  return { report, dataAsOf: await dataAsOf(run, name), columns: report.columns.map((c) => c.name), rows };
}

/** Runs one query for its whole answer as rows of values in column order (the CLI passes AdhocSql.table, read-only). */
export type RunTable = (sql: string, params: unknown[]) => Promise<{ rows: unknown[][] }>;

export interface Table {
  report: Report;
  dataAsOf: Date | null;
  columns: string[];
  /** Each row's values in `columns` order, as `show` has them in its row objects. */
  rows: unknown[][];
}

/** `show` with rows as arrays: how a whole report is read fast (no row objects; see AdhocSql.table). */
export async function table(
  runTable: RunTable,
  run: RunQuery,
  name: string,
  filters: readonly Filter[] = [],
  limit?: number,
): Promise<Table> {
  return read(runTable, run, name, filters, limit);
}

export async function dataAsOf(run: RunQuery, name: string): Promise<Date | null> {
  const {
    rows: [r],
  } = await run("SELECT data_as_of FROM report_refreshes WHERE report = $1", [name]);
  return (r?.data_as_of as Date | undefined) ?? null;
}

/** Every report's name, question and data-as-of time. */
export async function list(
  run: RunQuery,
): Promise<{ name: string; question: string; grain: string; refresh: string; data_as_of: Date | null }[]> {
  const { rows } = await run("SELECT report, data_as_of FROM report_refreshes", []);
  const asOf = new Map(rows.map((r) => [r.report as string, r.data_as_of as Date]));
  return reports.map((r) => ({
    name: r.name,
    question: r.question,
    grain: r.grain,
    refresh: r.refresh.kind,
    data_as_of: asOf.get(r.name) ?? null,
  }));
}
