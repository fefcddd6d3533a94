import type { Writable } from "node:stream";
import { Command } from "commander";
import { AdhocSql, Reports, csvLine, csvValue } from "@leadpipe/core";
import { withPool, withReadOnlyDatabase } from "./connect";
import { formatCells, formatRows, readOnlyQuery, TABLE_LIMIT } from "./sql";
import { wholeNumber } from "./numbers";

/** The read-only path: each query in a READ ONLY transaction with a statement timeout. */
const readOnly =
  (url: string): Reports.RunQuery =>
  (sql, params) =>
    readOnlyQuery(url, sql, 30_000, params);
/** The same, for a whole report read fast: its rows as arrays (AdhocSql.table), at most as many as readOnlyQuery gives. */
const readOnlyRows =
  (url: string): Reports.RunTable =>
  (sql, params) =>
    AdhocSql.table(url, sql, { timeoutMs: 30_000, limit: TABLE_LIMIT, params });

const asOfText = (d: Date | null) => (d ? d.toISOString() : "never refreshed");
/** How `report show` prints a report: one JSON object a row, CSV with a header, or an aligned table. */
export type ShowFormat = "json" | "csv" | "table";

/** The text `report show` prints for what it read. */
export function renderShown(shown: Reports.Table, format: ShowFormat): string {
  let text = "";
  if (format === "json") {
    for (const line of jsonLines(shown)) text += line;
  } else if (format === "csv") {
    text += csvLine(shown.columns);
    for (const r of shown.rows) text += csvLine(r.map(csvValue));
  } else {
    text += `${shown.report.name}: ${shown.report.question}\ndata as of ${asOfText(shown.dataAsOf)}\n\n`;
    text += formatCells(shown.columns, shown.rows) + "\n";
  }
  return text;
}

/**
 * Each row as `JSON.stringify({ ...row, data_as_of })` prints it, written from the row's values
 * (no object built): the keys in column order, then data_as_of (in its place if a column has
 * that name; a column whose name is an array index would move first in an object, so such a
 * report goes through the object).
 */
function* jsonLines(shown: Reports.Table): Generator<string> {
  const at = shown.columns.indexOf("data_as_of");
  const viaObject = shown.columns.some((c) => /^(0|[1-9]\d*)$/.test(c));
  const keys = shown.columns.map((c, i) => (i === 0 ? "{" : ",") + JSON.stringify(c) + ":");
  const asOf = JSON.stringify(shown.dataAsOf);
  const tail = at < 0 ? `,"data_as_of":${asOf}}\n` : "}\n";
  for (const r of shown.rows) {
    if (viaObject) {
      yield JSON.stringify({
        ...Object.fromEntries(shown.columns.map((c, i) => [c, r[i]])),
        data_as_of: shown.dataAsOf,
      }) + "\n";
      continue;
    }
    let line = "";
    for (let i = 0; i < r.length; i++) line += keys[i] + (i === at ? asOf : jsonValue(r[i]));
    yield line + tail;
  }
}

/** Characters JSON.stringify escapes in a string: '"', '\\', controls, and surrogates (lone ones; a pair goes the slow way too). */
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(v), without its call for the plain strings and finite numbers most cells are (several times faster). */
function jsonValue(v: unknown): string {
  if (typeof v === "string") return JSON_ESCAPED.test(v) ? JSON.stringify(v) : `"${v}"`;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return JSON.stringify(v);
}

export function reportCommand(out: Writable = process.stdout): Command {
  const list = new Command("list")
    .description("the reports: name, the question each answers, and when its data was last refreshed")
    .option("--json", "one JSON object per report and line")
    .action(async (opts: { json?: boolean }) => {
      const rows = await withReadOnlyDatabase((url) => Reports.list(readOnly(url)));
      if (opts.json) for (const r of rows) out.write(JSON.stringify(r) + "\n");
      else
        out.write(
          formatRows(
            ["name", "data_as_of", "question"],
            rows.map((r) => ({ ...r, data_as_of: asOfText(r.data_as_of) })),
          ) + "\n",
        );
    });

  const show = new Command("show")
    .description(
      "one report's rows, filtered by --where column=value (columns of that report only; column= means blank)",
    )
    .argument("<name>", "the report (see leadpipe report list)")
    .option(
      "--where <column=value>",
      "keep rows whose column equals value (repeatable: all must hold)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--limit <n>", "at most n rows", wholeNumber(1, 10_000_000))
    .option("--csv", "CSV with a header row")
    .option("--json", "one JSON object per row and line")
    .action(async (name: string, opts: { where: string[]; limit?: number; csv?: boolean; json?: boolean }) => {
      if (opts.csv && opts.json) throw new Error("choose one of --csv and --json");
      // checked before any database starts: an unknown report or column is refused with the valid ones
      const report = Reports.get(name);
      const filters = opts.where.map(Reports.parseFilter);
      Reports.query(report, filters, opts.limit);
      const shown = await withReadOnlyDatabase((url) =>
        Reports.table(readOnlyRows(url), readOnly(url), name, filters, opts.limit),
      );
      out.write(renderShown(shown, opts.json ? "json" : opts.csv ? "csv" : "table"));
    });

  const refresh = new Command("refresh")
    .description(
      "refresh now: the dirty mail pieces, the mortgage deltas and every materialized view (--full: every rollup from scratch)",
    )
    .argument("[names...]", "only these reports")
    .option("--full", "rebuild every rollup from the core tables, not only what changed")
    .action(async (names: string[], opts: { full?: boolean }) => {
      for (const n of names) Reports.get(n);
      const r = await withPool((pool) =>
        Reports.refreshAll(pool, { full: opts.full ?? false, ...(names.length > 0 ? { only: names } : {}) }),
      );
      out.write(`refreshed: ${r.pieces} mail piece(s) recomputed, ${r.views.length} materialized view(s)\n`);
    });

  const docs = new Command("docs").description("print docs/reports.md from the catalogue").action(() => {
    out.write(Reports.markdown());
  });

  return new Command("report")
    .description("the business reports (read-only), with their data-as-of time")
    .addCommand(list)
    .addCommand(show)
    .addCommand(refresh)
    .addCommand(docs);
}
