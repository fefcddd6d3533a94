import { mkdirSync, writeFileSync, rmSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { Import } from "@leadpipe/core";
import { html, show, table } from "../html";
import { csrfField } from "../layout";
import { BadRequest, NotFound, field, type RequestContext } from "../context";
import {
  IMPORT_COLUMNS,
  importDetail,
  importsQuery,
  isImportId,
  listImports,
  parseImportFilter,
  sources,
} from "../data/imports";
import { csvResponse, cursorSource } from "../csv";

const STATUSES = ["", "PENDING", "STAGING", "PROCESSING", "COMPLETE", "COMPLETE_WITH_ERRORS", "FAILED", "DUPLICATE"];
const REPORT_FILES = {
  success: Import.REPORT_FILES.success,
  errors: Import.REPORT_FILES.errors,
  checklist: Import.REPORT_FILES.checklist,
} as const;

const cell = (col: string, v: unknown, row: Record<string, unknown>) =>
  col === "id"
    ? html`<a href="/imports/${String(v)}">${String(v).slice(0, 8)}</a>`
    : col === "file_name"
      ? html`<a href="/imports/${String(row.id)}">${String(v)}</a>`
      : col === "status"
        ? html`<span class="status-${String(v)}">${String(v)}</span>`
        : col === "status_reason"
          ? html`<span class="wrap">${show(v)}</span>`
          : show(v);

export async function importsPage(x: RequestContext) {
  const q = x.c.req.query();
  const f = parseImportFilter(q);
  const [rows, srcs] = await Promise.all([listImports(x.deps.pool, f), sources(x.deps.pool)]);
  const qs = new URLSearchParams(Object.entries(q).filter(([k, v]) => v && k !== "limit")).toString();
  // Polls while an import shown is at work, or (after an upload) until the upload's import shows up.
  const live =
    rows.some((r) => ["PENDING", "STAGING", "PROCESSING"].includes(String(r.status))) ||
    (q.watch === "1" && rows.length === 0);
  const list = html`<div id="imports-list" ${live ? html`hx-get="/imports?${qs}" hx-trigger="every 2s" hx-select="#imports-list" hx-swap="outerHTML"` : ""}>
${table(IMPORT_COLUMNS, rows, { cell, id: "imports" })}
<p class="muted">${rows.length} import(s) shown (at most ${f.limit}). <a href="/imports/csv?${qs}">Export CSV</a> (up to ${x.options.csvRowLimit.toLocaleString("en-US")} rows)</p></div>`;
  const body = html`
<form class="filters" method="get" action="/imports">
<label>File name <input name="q" value="${f.q ?? ""}" placeholder="partner-b"></label>
<label>Status <select name="status">${STATUSES.map((s) => html`<option value="${s}"${s === (f.status ?? "") ? html` selected` : ""}>${s || "any"}</option>`)}</select></label>
<label>Source <select name="source"><option value="">any</option>${srcs.map((s) => html`<option${s === f.source ? html` selected` : ""}>${s}</option>`)}</select></label>
<label>Day <input type="date" name="day" value="${f.day ?? ""}"></label>
<button type="submit">Search</button></form>
${
  x.user.role === "ops"
    ? html`<details${q.upload ? html` open` : ""}><summary>Upload a file into the inbox</summary>
<form class="filters" method="post" action="/imports/upload" enctype="multipart/form-data">${csrfField(x.page.csrf)}
<label>File <input type="file" name="file" required></label><button type="submit">Upload</button></form></details>`
    : ""
}
${list}`;
  return x.render("Imports", body);
}

export async function importsCsv(x: RequestContext) {
  const f = { ...parseImportFilter(x.c.req.query(), x.options.csvRowLimit), limit: x.options.csvRowLimit + 1 };
  const q = importsQuery(f);
  await x.audit("export imports", null, "ok", { filter: f });
  return csvResponse(
    "imports.csv",
    x.options.csvRowLimit,
    cursorSource(x.deps.pool, q.sql, q.params, x.options.csvRowLimit),
  );
}

export function importId(x: RequestContext): string {
  const id = x.c.req.param("id") ?? "";
  if (!isImportId(id)) throw new NotFound(`not an import id: ${id}`);
  return id;
}

export async function importPage(x: RequestContext) {
  const id = importId(x);
  const d = await importDetail(x.deps.pool, id).catch((e: Error) => {
    if (/does not exist/.test(e.message)) throw new NotFound(`no import ${id}`);
    throw e;
  });
  const i = d.description.import;
  const rec = d.description.reconciliation;
  const steps = Object.entries(i.step_timings)
    .sort(([, a], [, b]) => String(a.started_at ?? "").localeCompare(String(b.started_at ?? "")))
    .map(([step, t]) => ({ step, started_at: t.started_at ?? null, ms: t.ms ?? "running" }));
  const terminal = Import.TERMINAL.includes(i.status);
  const body = html`
<div ${terminal ? "" : html`hx-get="/imports/${id}" hx-trigger="every 2s" hx-select="main" hx-target="main" hx-swap="outerHTML"`}>
<dl class="facts">
<dt>file</dt><dd>${i.file_name} <span class="muted">s3://${i.bucket}/${i.object_key}</span></dd>
<dt>source</dt><dd>${i.source ?? "unknown"}${i.partner ? `, partner ${i.partner}` : ""}</dd>
<dt>status</dt><dd id="import-status"><span class="status-${i.status}">${i.status}</span>${i.status_reason ? ` (${i.status_reason})` : ""}</dd>
<dt>uploaded</dt><dd>by ${i.uploaded_by ?? "?"} at ${show(i.uploaded_at)}</dd>
<dt>size</dt><dd>${show(i.size_bytes)} bytes ${i.sha256 ? html`<span class="muted">sha256 ${i.sha256}</span>` : ""}</dd>
<dt>rows</dt><dd>read ${show(i.rows_read)} = accepted ${show(i.accepted)} + rejected ${show(i.rejected)}; accepted = inserted ${show(i.inserted)} + updated ${show(i.updated)} + unchanged ${show(i.unchanged)}</dd>
<dt>progress</dt><dd>chunks ${d.description.progress.chunks_done}/${d.description.progress.chunks_total ?? "?"}, ${show(d.description.progress.rows_per_second)} rows/s</dd>
${rec && d.description.replays.length ? html`<dt>across runs</dt><dd>read ${show(rec.rows_read)} = accepted ${show(rec.accepted)} + re-ingested by replays ${show(rec.resolved_by_replays)} + still rejected ${show(rec.outstanding_rejects)}</dd>` : ""}
${d.description.replay_of ? html`<dt>replay of</dt><dd><a href="/imports/${d.description.replay_of.id}">${d.description.replay_of.id}</a> (${d.description.replay_of.mode})</dd>` : ""}
</dl>
<h2>Reports</h2>
${
  d.description.reports
    ? html`<div class="actions">${Object.keys(REPORT_FILES).map((k) => html`<a class="button secondary" href="/imports/${id}/files/${k}">${k} report</a>`)}</div>`
    : html`<p class="muted">not written yet</p>`
}
${
  x.user.role === "ops" && terminal && i.status !== "DUPLICATE"
    ? html`<h2>Replay</h2>
<div class="actions">
<form class="inline" method="post" action="/imports/${id}/replay">${csrfField(x.page.csrf)}<input type="hidden" name="mode" value="full"><button type="submit">Replay in full</button></form>
${
  (i.rejected ?? 0) > 0
    ? html`<form class="filters" method="post" action="/imports/${id}/replay" enctype="multipart/form-data">${csrfField(x.page.csrf)}
<input type="hidden" name="mode" value="errors-only">
<label>Corrected rows (optional CSV: row_number, then the source's columns) <input type="file" name="file"></label>
<button type="submit">Replay rejected rows only</button></form>`
    : ""
}
</div>`
    : ""
}
<h2>Steps</h2>${table(["step", "started_at", "ms"], steps)}
<h2>Rejected rows by field and reason</h2>
${table(["error_type", "field_name", "error_message", "rows", "resolved"], d.description.rejects as unknown as Record<string, unknown>[])}
<h2>Rejected rows</h2>
${table(["row_number", "error_type", "field_name", "field_value", "error_message", "raw_record"], d.rejects, { id: "rejects" })}
<p class="muted">the first ${d.rejects.length} shown; <a href="/imports/${id}/rejects/csv">all as CSV</a> (up to ${x.options.csvRowLimit.toLocaleString("en-US")})</p>
${d.description.replays.length ? html`<h2>Replays</h2>${table(["id", "mode", "status", "rows_read", "accepted", "rejected", "created_at"], d.description.replays as unknown as Record<string, unknown>[], { cell })}` : ""}
<h2>Chunks</h2>${table(["chunk_index", "status", "attempts", "records", "rows_read", "accepted", "rejected", "inserted", "updated", "unchanged", "duration_ms"], d.chunks)}
</div>`;
  return x.render(`Import ${i.file_name}`, body);
}

export async function rejectsCsv(x: RequestContext) {
  const id = importId(x);
  await x.audit("export rejects", id);
  return csvResponse(
    `rejects-${id}.csv`,
    x.options.csvRowLimit,
    cursorSource(
      x.deps.pool,
      `SELECT row_number, chunk_index, error_type, field_name, field_value, error_message, raw_record
       FROM import_rejects WHERE import_id = $1 ORDER BY row_number, field_name`,
      [id],
      x.options.csvRowLimit,
    ),
  );
}

/** One of the three reports the import wrote next to its file, streamed from the object store. */
export async function reportFile(x: RequestContext) {
  const id = importId(x);
  const which = x.c.req.param("which") as keyof typeof REPORT_FILES;
  if (!Object.hasOwn(REPORT_FILES, which)) throw new NotFound(`no such report: ${which}`);
  const i = await Import.getImport(x.deps.pool, id).catch(() => {
    throw new NotFound(`no import ${id}`);
  });
  if (!i.reports_prefix) throw new NotFound("the reports of this import are not written yet");
  const name = REPORT_FILES[which];
  const body = await x.deps.store.read(i.bucket, `${i.reports_prefix}${name}`);
  await x.audit("download report", id, "ok", { report: which });
  const { Readable } = await import("node:stream");
  return new Response(Readable.toWeb(body) as ReadableStream, {
    headers: {
      "content-type": name.endsWith(".json") ? "application/json" : "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${path.basename(i.file_name).replace(/[^\w.-]/g, "_")}.${name}"`,
    },
  });
}

export function uploadedFile(x: RequestContext): File | undefined {
  const f = x.body.file;
  const one = Array.isArray(f) ? f[0] : f;
  return one instanceof File && one.size > 0 ? one : undefined;
}

/** Writes an uploaded file under the upload folder, in a folder of its own; the name keeps only safe characters. */
async function saveUpload(x: RequestContext, file: File): Promise<{ path: string; cleanup(): void }> {
  const name = path
    .basename(file.name)
    .replace(/[^\w.-]/g, "_")
    .replace(/^\.+/, "");
  if (!name) throw new BadRequest("the file has no usable name");
  const dir = path.join(x.deps.uploadDir, randomUUID());
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, name);
  writeFileSync(target, new Uint8Array(await file.arrayBuffer()));
  return { path: target, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function upload(x: RequestContext) {
  const file = uploadedFile(x);
  if (!file) throw new BadRequest("choose a file to upload");
  const saved = await saveUpload(x, file);
  try {
    const { key } = await x.deps.upload(saved.path, `console:${x.user.username}`);
    await x.audit("upload", key, "ok", { file: file.name, bytes: file.size });
    return x.c.redirect(`/imports?q=${encodeURIComponent(path.basename(saved.path))}&watch=1`, 303);
  } finally {
    saved.cleanup();
  }
}

/**
 * Starts a replay (functions/replay), with the corrected file of an errors-only one uploaded with it,
 * and audits it: the Imports page's form and the API (`leadpipe replay --stage`) both come here.
 */
export async function startReplay(
  x: RequestContext,
  id: string,
  mode: string | undefined,
  file: File | undefined,
  requestedBy: string,
): Promise<Import.ReplayResult> {
  if (mode !== "full" && mode !== "errors-only") throw new BadRequest("mode is full or errors-only");
  if (file && mode !== "errors-only") throw new BadRequest("a corrected file goes with an errors-only replay");
  const saved = file ? await saveUpload(x, file) : undefined;
  try {
    const r = await x.deps.replay({ importId: id, mode, requestedBy, ...(saved ? { fixedFile: saved.path } : {}) });
    await x.audit(`replay ${mode}`, id, r.replayId ? "ok" : "refused", {
      replayId: r.replayId,
      message: r.message,
      ...(file ? { file: file.name, bytes: file.size } : {}),
    });
    return r;
  } finally {
    saved?.cleanup();
  }
}

export async function replay(x: RequestContext) {
  const id = importId(x);
  const r = await startReplay(x, id, field(x.body, "mode"), uploadedFile(x), `console:${x.user.username}`);
  if (!r.replayId) throw new BadRequest(r.message);
  return x.c.redirect(`/imports/${r.replayId}`, 303);
}
