import type { Writable } from "node:stream";
import { Command } from "commander";
import { Reports, csvLine } from "@leadpipe/core";
import { withPool, withReadOnlyDatabase } from "./connect";
import { formatRows, readOnlyQuery } from "./sql";
import { wholeNumber } from "./numbers";

/** The read-only path: each query in a READ ONLY transaction with a statement timeout. */
const readOnly =
  (url: string): Reports.RunQuery =>
  (sql, params) =>
    readOnlyQuery(url, sql, 30_000, params);

const asOfText = (d: Date | null) => (d ? d.toISOString() : "never refreshed");
const cell = (v: unknown) =>
  v instanceof Date
    ? v.toISOString()
    : v === null || v === undefined
      ? null
      : typeof v === "object"
        ? JSON.stringify(v)
        : String(v);

/** How `report show` prints a report: one JSON object a row, CSV with a header, or an aligned table. */
export type ShowFormat = "json" | "csv" | "table";

/** The text `report show` prints for what it read. */
export function renderShown(shown: Reports.Shown, format: ShowFormat): string {
  let text = "";
  if (format === "json") {
    for (const r of shown.rows) text += JSON.stringify({ ...r, data_as_of: shown.dataAsOf }) + "\n";
  } else if (format === "csv") {
    text += csvLine(shown.columns);
    for (const r of shown.rows) text += csvLine(shown.columns.map((c) => cell(r[c])));
  } else {
    text += `${shown.report.name}: ${shown.report.question}\ndata as of ${asOfText(shown.dataAsOf)}\n\n`;
    text += formatRows(shown.columns, shown.rows) + "\n";
  }
  return text;
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
      const shown = await withReadOnlyDatabase((url) => Reports.show(readOnly(url), name, filters, opts.limit));
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
