import { AdhocSql, Reports } from "@leadpipe/core";
import { barChart } from "../chart";
import { html, show, table } from "../html";
import { BadRequest, NotFound, type RequestContext } from "../context";
import { csvResponse } from "../csv";

const PAGE_ROWS = 500;

/** Reports read only through the read-only role, as `leadpipe report` does (pooled: the SQL is the catalogue's). */
const readOnly =
  (x: RequestContext): Reports.RunQuery =>
  (sql, params) =>
    x.readOnly(sql, params);

function report(x: RequestContext): Reports.Report {
  const name = x.c.req.param("name") ?? "";
  try {
    return Reports.get(name);
  } catch {
    throw new NotFound(`no report "${name}"`);
  }
}

/** ?where=column=value (repeatable), checked against the report's columns. */
function filters(x: RequestContext, r: Reports.Report): Reports.Filter[] {
  const fs = (x.c.req.queries("where") ?? [])
    .filter((w) => w.trim() !== "")
    .map((w) => {
      try {
        return Reports.parseFilter(w);
      } catch (e) {
        throw new BadRequest((e as Error).message);
      }
    });
  try {
    Reports.query(r, fs);
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
  return fs;
}

export async function reportsPage(x: RequestContext) {
  const rows = await Reports.list(readOnly(x));
  return x.render(
    "Reports",
    table(["name", "question", "grain", "refresh", "data_as_of"], rows, {
      cell: (c, v) =>
        c === "name"
          ? html`<a href="/reports/${String(v)}">${String(v)}</a>`
          : c === "question"
            ? html`<span class="wrap">${String(v)}</span>`
            : c === "data_as_of"
              ? v
                ? show(v)
                : "never refreshed"
              : show(v),
    }),
  );
}

/** A number, or NUMERIC as node-postgres hands it (a string of digits); dates, codes with letters and booleans are not. */
const isNumber = (v: unknown) =>
  typeof v === "number" || (typeof v === "string" && /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(v));

/** The chart: the first column as the label, the first later column whose values are all numbers as the value. */
function chartOf(r: Reports.Report, rows: Record<string, unknown>[]) {
  const numeric = r.columns
    .slice(1)
    .map((c) => c.name)
    .find(
      (c) =>
        rows.length > 0 &&
        rows.every((row) => row[c] === null || isNumber(row[c])) &&
        rows.some((row) => row[c] !== null),
    );
  if (!numeric) return html``;
  const label = r.columns[0]!.name;
  // One bar per label: rows that share it are summed (rejects: rows per partner, not per partner × field × reason).
  const sums = new Map<string, number>();
  for (const row of rows) sums.set(show(row[label]), (sums.get(show(row[label])) ?? 0) + Number(row[numeric] ?? 0));
  const points = [...sums].slice(0, 60).map(([l, value]) => ({ label: l, value }));
  return barChart(points, {
    title: `${numeric} by ${label}, summed over the rows shown${sums.size > 60 ? " (first 60 labels)" : ""}`,
  });
}

export async function reportPage(x: RequestContext) {
  const r = report(x);
  const fs = filters(x, r);
  const shown = await Reports.show(readOnly(x), r.name, fs, PAGE_ROWS + 1);
  const more = shown.rows.length > PAGE_ROWS;
  const rows = shown.rows.slice(0, PAGE_ROWS);
  const qs = new URLSearchParams(fs.map((f): [string, string] => ["where", `${f.column}=${f.value ?? ""}`])).toString();
  await x.audit("view report", r.name, "ok", { filters: fs });
  const body = html`<p>${r.question}</p>
<p class="muted">one row per ${r.grain}; data as of <b id="data-as-of">${shown.dataAsOf ? show(shown.dataAsOf) : "never refreshed"}</b></p>
<form class="filters" method="get" action="/reports/${r.name}">
${[...fs, { column: "", value: "" }].map((f) => html`<label>Filter <input name="where" value="${f.column ? `${f.column}=${f.value ?? ""}` : ""}" placeholder="column=value" list="cols-${r.name}"></label>`)}
<datalist id="cols-${r.name}">${r.columns.map((c) => html`<option value="${c.name}=">`)}</datalist>
<button type="submit">Apply</button> <a class="button secondary" href="/reports/${r.name}/csv?${qs}">Export CSV</a></form>
${chartOf(r, rows)}
${table(shown.columns, rows, { id: "report" })}
<p class="muted">${rows.length} row(s)${more ? html` shown; <b>more rows exist</b>: filter, or export the CSV (up to ${x.options.csvRowLimit.toLocaleString("en-US")} rows)` : ""}</p>
<h2>Columns</h2>${table(["name", "description"], r.columns as unknown as Record<string, unknown>[])}`;
  return x.render(`Report ${r.name}`, body);
}

export async function reportCsv(x: RequestContext) {
  const r = report(x);
  const fs = filters(x, r);
  const q = Reports.query(r, fs);
  await x.audit("export report", r.name, "ok", { filters: fs });
  return csvResponse(`${r.name}.csv`, x.options.csvRowLimit, async (onFields, onRow) => {
    const options = { timeoutMs: x.options.sqlTimeoutMs, limit: x.options.csvRowLimit, params: q.params };
    if (q.params.length > 0) return AdhocSql.stream(x.deps.readonlyUrl, q.sql, options, onFields, onRow);
    // a whole report: one COPY into rows of values, as `leadpipe report show` reads it (a report is an aggregate: it fits)
    const whole = await AdhocSql.table(x.deps.readonlyUrl, q.sql, options);
    await onFields(whole.fields);
    for (const row of whole.rows) await onRow(row);
    return { more: whole.more, rows: whole.rows.length };
  });
}
