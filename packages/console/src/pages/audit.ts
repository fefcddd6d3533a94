import { html, show, table } from "../html";
import type { RequestContext } from "../context";
import { auditLog, auditQuery, parseAuditFilter } from "../data/audit";
import { csvResponse, cursorSource } from "../csv";

export async function auditPage(x: RequestContext) {
  const q = x.c.req.query();
  const f = parseAuditFilter(q);
  const rows = await auditLog(x.deps.pool, f);
  const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v)).toString();
  const body = html`<form class="filters" method="get" action="/audit">
<label>User <input name="username" value="${f.username ?? ""}"></label>
<label>Action (prefix) <input name="action" value="${f.action ?? ""}" placeholder="sql, people., login"></label>
<label>Outcome <select name="outcome">${["", "ok", "refused", "error"].map((o) => html`<option value="${o}"${o === (f.outcome ?? "") ? html` selected` : ""}>${o || "any"}</option>`)}</select></label>
<button type="submit">Filter</button> <a class="button secondary" href="/audit/csv?${qs}">Export CSV</a></form>
${table(["at", "username", "role", "action", "target", "outcome", "detail", "ip"], rows, {
  id: "audit",
  cell: (c, v) => (c === "detail" ? html`<span class="wrap">${show(v)}</span>` : show(v)),
})}
<p class="muted">${rows.length} entries shown (at most ${f.limit}); the CSV holds up to ${x.options.csvRowLimit.toLocaleString("en-US")}.</p>`;
  return x.render("Audit log", body);
}

export async function auditCsv(x: RequestContext) {
  const f = { ...parseAuditFilter(x.c.req.query()), limit: x.options.csvRowLimit + 1 };
  const q = auditQuery(f);
  await x.audit("export audit", null, "ok", { filter: f });
  return csvResponse(
    "audit.csv",
    x.options.csvRowLimit,
    cursorSource(x.deps.pool, q.sql, q.params, x.options.csvRowLimit),
  );
}
