import { AdhocSql } from "@leadpipe/core";
import { html, table } from "../html";
import { csrfField } from "../layout";
import { BadRequest, field, type RequestContext } from "../context";
import { csvResponse } from "../csv";

const MAX_TEXT = 100_000;

function form(x: RequestContext, text: string) {
  return html`<form method="post" action="/sql" id="sql-form">${csrfField(x.page.csrf)}
<label>One read-only statement (SELECT, WITH, VALUES, TABLE, EXPLAIN or SHOW), run as leadpipe_readonly with a
${x.options.sqlTimeoutMs / 1000} s timeout; at most ${x.options.sqlRowCap.toLocaleString("en-US")} rows shown.
<textarea name="sql" spellcheck="false" required>${text}</textarea></label>
<div class="actions"><button type="submit">Run</button>
<button type="submit" class="secondary" formaction="/sql/csv">Export CSV (up to ${x.options.csvRowLimit.toLocaleString("en-US")} rows)</button></div></form>`;
}

export async function sqlPage(x: RequestContext) {
  return x.render("SQL", form(x, "SELECT source, status, count(*) FROM imports GROUP BY 1, 2 ORDER BY 1, 2"));
}

function statement(x: RequestContext): string {
  const text = field(x.body, "sql") ?? "";
  if (!text.trim()) throw new BadRequest("type a statement");
  if (text.length > MAX_TEXT) throw new BadRequest(`a statement has at most ${MAX_TEXT} characters`);
  return text;
}

/** Stops the statement when the browser goes away (the page was left): the cursor closes, the transaction rolls back. */
function abortable(x: RequestContext) {
  const signal = x.c.req.raw.signal;
  return () => {
    if (signal.aborted) throw new AdhocSql.SqlRefusedError("cancelled: the page was left");
  };
}

export async function runSql(x: RequestContext) {
  const text = statement(x);
  const started = Date.now();
  const check = abortable(x);
  const rows: Record<string, unknown>[] = [];
  let fields: string[] = [];
  try {
    const r = await AdhocSql.stream(
      x.deps.readonlyUrl,
      text,
      { timeoutMs: x.options.sqlTimeoutMs, limit: x.options.sqlRowCap },
      (f) => {
        fields = f;
      },
      (row) => {
        check();
        rows.push(row);
      },
    );
    const ms = Date.now() - started;
    await x.audit("sql", null, "ok", { sql: text, rows: r.rows, more: r.more, ms });
    return x.render(
      "SQL",
      html`${form(x, text)}
<p class="notice" id="sql-result">${r.rows.toLocaleString("en-US")} row(s) in ${ms} ms${r.more ? html`; <b>more rows exist</b> past the cap of ${x.options.sqlRowCap.toLocaleString("en-US")}: export the CSV for all of them` : ""}</p>
${table(r.fields.length ? r.fields : fields, rows, { id: "sql-rows" })}`,
    );
  } catch (err) {
    const refused = err instanceof AdhocSql.SqlRefusedError || err instanceof AdhocSql.SqlTimeoutError;
    const message = refused ? (err as Error).message : `error: ${(err as Error).message}`;
    await x.audit("sql", null, refused ? "refused" : "error", { sql: text, error: message });
    return x.render(
      "SQL",
      html`${form(x, text)}<p class="notice error" role="alert" id="sql-error">${message}</p>`,
      400,
    );
  }
}

export async function sqlCsv(x: RequestContext) {
  const text = statement(x);
  AdhocSql.checkStatement(text);
  const check = abortable(x);
  await x.audit("sql export", null, "ok", { sql: text });
  return csvResponse("query.csv", x.options.csvRowLimit, (onFields, onRow) =>
    AdhocSql.stream(
      x.deps.readonlyUrl,
      text,
      { timeoutMs: x.options.sqlTimeoutMs, limit: x.options.csvRowLimit },
      onFields,
      (row) => {
        check();
        return onRow(row);
      },
    ),
  );
}
