import { html, raw, show, table } from "../html";
import { csrfField } from "../layout";
import type { RequestContext } from "../context";
import { today } from "../data/imports";
import { lastSyncRuns } from "../data/integrations";
import { pullersSection } from "./pullers";

const statusCell = (col: string, v: unknown, row: Record<string, unknown>) =>
  col === "id"
    ? html`<a href="/imports/${String(v)}">${String(v).slice(0, 8)}</a>`
    : col === "status"
      ? html`<span class="status-${String(v)}">${String(v)}</span>`
      : col === "file_name"
        ? html`<a href="/imports/${String(row.id)}">${String(v)}</a>`
        : show(v);

/** The running imports, refreshed every 2 s by htmx while the page is open. */
export async function running(x: RequestContext) {
  const t = await today(x.deps.pool);
  return x.c.html(runningTable(t.running).text);
}

const runningTable = (rows: Record<string, unknown>[]) =>
  html`<div id="running" hx-get="/fragments/running" hx-trigger="every 2s" hx-swap="outerHTML">
${
  rows.length
    ? table(
        ["id", "file_name", "status", "current_step", "chunks", "rows_done", "rows_total", "rows_per_second"],
        rows,
        { cell: statusCell },
      )
    : html`<p class="muted">nothing running</p>`
}</div>`;

export async function todayPage(x: RequestContext) {
  const [t, alerts, syncs, pullers] = await Promise.all([
    today(x.deps.pool),
    x.deps.alerts(20),
    lastSyncRuns(x.deps.pool),
    pullersSection(x),
  ]);
  const mayReplay = x.user.role === "ops";
  const count = (s: string) => t.arrived.filter((r) => r.status === s).length;
  const body = html`
<div class="cards">
  <div class="card"><b>${t.arrived.length}</b>files arrived today</div>
  <div class="card"><b>${t.running.length}</b>running</div>
  <div class="card"><b class="warn">${count("COMPLETE_WITH_ERRORS")}</b>with rejected rows</div>
  <div class="card"><b class="bad">${t.failures.length}</b>failures (7 days, not yet replayed)</div>
</div>
<h2>Running</h2>${runningTable(t.running)}
<h2>Failures</h2>
${table(
  [
    "id",
    "file_name",
    "source",
    "failed_step",
    "status_reason",
    "alert_status",
    "finished_at",
    ...(mayReplay ? ["replay"] : []),
  ],
  t.failures,
  {
    cell: (col, v, row) =>
      col === "replay"
        ? html`<form class="inline" method="post" action="/imports/${String(row.id)}/replay">${csrfField(x.page.csrf)}
<input type="hidden" name="mode" value="full"><button type="submit">Replay</button></form>`
        : col === "status_reason"
          ? html`<span class="wrap">${show(v)}</span>`
          : statusCell(col, v, row),
  },
)}
<h2>Arrived today</h2>
${table(["id", "file_name", "source", "status", "rows_read", "accepted", "rejected", "created_at", "finished_at"], t.arrived, { cell: statusCell, id: "arrived" })}
<h2>Sources: last arrival</h2>
${table(["source", "last_arrival", "today"], t.lastBySource)}
${pullers}
<h2>Syncs: last runs</h2>
${table(
  [
    "system",
    "status",
    "trigger",
    "full_sync",
    "started_at",
    "finished_at",
    "read",
    "created",
    "updated",
    "deleted",
    "failed",
    "requests",
    "error",
    "stop_reason",
  ],
  syncs,
  {
    cell: (c, v, row) =>
      c === "status"
        ? html`<span class="status-${String(v)}">${String(v)}</span>`
        : c === "error" || c === "stop_reason"
          ? html`<span class="wrap">${show(v)}</span>`
          : statusCell(c, v, row),
    id: "syncs",
  },
)}
<h2>Alerts sent</h2>
${table(["time", "subject", "message"], alerts, { cell: (c, v) => (c === "message" ? html`<span class="wrap">${show(v)}</span>` : show(v)) })}
${raw("")}`;
  return x.render("Today", body);
}
