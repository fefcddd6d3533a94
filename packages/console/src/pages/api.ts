import { AdhocSql, Import } from "@leadpipe/core";
import { BadRequest, NotFound, field, type RequestContext } from "../context";
import { importId, startReplay, uploadedFile } from "./imports";
import { lineStream } from "../csv";

/**
 * The console's JSON API: what the CLI's `status`, `replay` and `sql` do against a deployed stage
 * (`--stage NAME`, after `leadpipe login --stage NAME`). Bearer tokens only (a cookie's POST must be a
 * form); the same roles and the same audit log as the pages.
 */

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

/**
 * `leadpipe replay --stage`: JSON `{mode}`, or a multipart form (`mode`, and `file`: an errors-only
 * replay's corrected rows, as the Imports page uploads them).
 */
export async function apiReplay(x: RequestContext) {
  const id = importId(x);
  const multipart = /^multipart\/form-data\b/.test(x.c.req.header("content-type") ?? "");
  const mode = multipart ? field(x.body, "mode") : (await json(x)).mode;
  const file = multipart ? uploadedFile(x) : undefined;
  const r = await startReplay(x, id, typeof mode === "string" ? mode : undefined, file, `api:${x.user.username}`);
  return x.c.json(r, r.replayId ? 202 : 409);
}

/**
 * `leadpipe sql --stage`: one read-only statement, its rows streamed as NDJSON as the cursor yields them
 * (memory flat, backpressure from the client). Lines: `{"fields":[…],"limit":n}` first, then one
 * `{"row":{…}}` per row, then `{"end":{"rows":n,"more":bool}}` — or `{"error":"…"}` if it failed midway;
 * an answer without its end line was cut short. At most `limit` rows (default the SQL window's cap; 0:
 * the export's limit, 1,000,000 by default). A statement refused or failing before its first row answers
 * 400 (or 500) with `{"error"}`, as a whole.
 */
export async function apiSql(x: RequestContext) {
  const body = await json(x);
  const text = typeof body.sql === "string" ? body.sql : "";
  if (!text.trim()) throw new BadRequest("sql is one statement");
  const cap = x.options.csvRowLimit;
  const asked = body.limit === undefined ? x.options.sqlRowCap : Number(body.limit);
  if (!Number.isInteger(asked) || asked < 0 || asked > cap)
    throw new BadRequest(`limit is 1 to ${cap.toLocaleString("en-US")} (0: that many)`);
  const limit = asked === 0 ? cap : asked;
  const started = Date.now();
  const { out, write, body: stream } = lineStream();
  // the web stream exists before the first row is written: rows wait on its reads, not on a detached buffer
  const answer = stream();
  let opened!: () => void;
  const ready = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const run = AdhocSql.stream(
    x.deps.readonlyUrl,
    text,
    { timeoutMs: x.options.sqlTimeoutMs, limit },
    (fields) => {
      opened();
      return write(`${JSON.stringify({ fields, limit })}\n`);
    },
    (row) => write(`${JSON.stringify({ row })}\n`),
  );
  const failed = (err: unknown) => {
    const refused = err instanceof AdhocSql.SqlRefusedError || err instanceof AdhocSql.SqlTimeoutError;
    const outcome: "refused" | "error" = refused ? "refused" : "error";
    const audited = x.audit("sql", null, outcome, { sql: text, error: (err as Error).message, via: "api" });
    return { refused, audited };
  };
  // Refused before its first row (a write, a syntax error, a timeout): one JSON answer with its status.
  const early = await Promise.race([
    ready.then(() => undefined),
    run.then(
      () => undefined,
      (e: unknown) => e,
    ),
  ]);
  if (early !== undefined) {
    const { refused, audited } = failed(early);
    await audited;
    return x.c.json({ error: (early as Error).message }, refused ? 400 : 500);
  }
  void run
    .then(
      async (r) => {
        await write(`${JSON.stringify({ end: { rows: r.rows, more: r.more } })}\n`);
        out.end();
        await x.audit("sql", null, "ok", {
          sql: text,
          rows: r.rows,
          more: r.more,
          ms: Date.now() - started,
          via: "api",
        });
      },
      async (err: unknown) => {
        if (!out.destroyed) out.end(`${JSON.stringify({ error: (err as Error).message })}\n`);
        await failed(err).audited;
      },
    )
    .catch((err: Error) => x.deps.log.error("api sql: the audit row failed", { error: err.message }));
  return new Response(answer, {
    headers: { "content-type": "application/x-ndjson", "x-row-limit": String(limit), "cache-control": "no-store" },
  });
}
