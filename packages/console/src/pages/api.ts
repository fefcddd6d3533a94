import { AdhocSql, Import } from "@leadpipe/core";
import { BadRequest, NotFound, type RequestContext } from "../context";
import { importId } from "./imports";

/**
 * The console's JSON API: what the CLI's `status`, `replay` and `sql` do against a deployed stage
 * (`--stage NAME`, after `leadpipe login --stage NAME`). Bearer tokens only (a cookie's POST must be a
 * form); the same roles and the same audit log as the pages.
 */

/** Rows a `sql` answer holds at most: the CLI's limit, capped (the CSV export is the way to more). */
export const API_SQL_MAX_ROWS = 10_000;

async function json(x: RequestContext): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(x.c.req.header("content-type") ?? "")) throw new BadRequest("send application/json");
  const body = (await x.c.req.json().catch(() => undefined)) as unknown;
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new BadRequest("send a JSON object");
  return body as Record<string, unknown>;
}

export async function apiImports(x: RequestContext) {
  const limit = Number(x.c.req.query("limit") ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequest("limit is 1 to 1,000");
  const { rows } = await x.deps.pool.query(Import.RECENT_IMPORTS_SQL, [limit]);
  return x.c.json({ imports: rows });
}

export async function apiImport(x: RequestContext) {
  const id = importId(x);
  const d = await Import.describe(x.deps.pool, id).catch((e: Error) => {
    throw /does not exist/.test(e.message) ? new NotFound(`no import ${id}`) : e;
  });
  return x.c.json(d);
}

export async function apiReplay(x: RequestContext) {
  const id = importId(x);
  const { mode } = await json(x);
  if (mode !== "full" && mode !== "errors-only") throw new BadRequest("mode is full or errors-only");
  const r = await x.deps.replay({ importId: id, mode, requestedBy: `api:${x.user.username}` });
  await x.audit(`replay ${mode}`, id, r.replayId ? "ok" : "refused", { replayId: r.replayId, message: r.message });
  return x.c.json(r, r.replayId ? 202 : 409);
}

export async function apiSql(x: RequestContext) {
  const body = await json(x);
  const text = typeof body.sql === "string" ? body.sql : "";
  if (!text.trim()) throw new BadRequest("sql is one statement");
  const limit = body.limit === undefined ? x.options.sqlRowCap : Number(body.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > API_SQL_MAX_ROWS)
    throw new BadRequest(`limit is 1 to ${API_SQL_MAX_ROWS.toLocaleString("en-US")}`);
  const started = Date.now();
  const rows: Record<string, unknown>[] = [];
  let fields: string[] = [];
  try {
    const r = await AdhocSql.stream(
      x.deps.readonlyUrl,
      text,
      { timeoutMs: x.options.sqlTimeoutMs, limit },
      (f) => {
        fields = f;
      },
      (row) => {
        rows.push(row);
      },
    );
    await x.audit("sql", null, "ok", { sql: text, rows: r.rows, more: r.more, ms: Date.now() - started, via: "api" });
    return x.c.json({ fields: r.fields.length ? r.fields : fields, rows, more: r.more });
  } catch (err) {
    const refused = err instanceof AdhocSql.SqlRefusedError || err instanceof AdhocSql.SqlTimeoutError;
    await x.audit("sql", null, refused ? "refused" : "error", { sql: text, error: (err as Error).message, via: "api" });
    return x.c.json({ error: (err as Error).message }, refused ? 400 : 500);
  }
}
