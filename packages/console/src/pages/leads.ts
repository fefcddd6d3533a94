import { html, show, table } from "../html";
import { csrfField } from "../layout";
import type { RequestContext } from "../context";
import { findMortgages, timeline } from "../data/leads";

export async function leadsPage(x: RequestContext) {
  const q = (x.c.req.query("q") ?? "").trim();
  const found = q ? await findMortgages(x.deps.pool, q) : { by: "loan" as const, ids: [] };
  const events = await timeline(x.deps.pool, found.ids);
  if (q) await x.audit("lead timeline", q.slice(0, 200), "ok", { by: found.by, mortgages: found.ids.length });
  const byMortgage = new Map<string, typeof events>();
  for (const e of events) byMortgage.set(e.mortgage_id, [...(byMortgage.get(e.mortgage_id) ?? []), e]);
  const body = html`
<form class="filters" method="get" action="/leads">
<label>Loan number, tracking code, phone or borrower name <input name="q" value="${q}" size="40" autofocus></label>
<button type="submit">Find</button></form>
${
  x.user.role === "ops"
    ? html`<form class="inline" method="post" action="/leads/handoff">${csrfField(x.page.csrf)}
<button type="submit" class="secondary">Hand off today's leads now</button></form>`
    : ""
}
${q ? html`<p class="muted">searched by ${found.by}: ${found.ids.length} mortgage(s)${found.ids.length >= 50 ? " (the first 50)" : ""}</p>` : ""}
${[...byMortgage].map(
  ([id, evs]) => html`<h2>Mortgage ${id}</h2>
${table(
  ["at", "kind", "what", "tracking_code", "source_file", "source_row"],
  evs as unknown as Record<string, unknown>[],
  {
    cell: (c, v, row) =>
      c === "source_file" && row.import_id
        ? html`<a href="/imports/${String(row.import_id)}">${show(v)}</a>`
        : c === "what"
          ? html`<span class="wrap">${show(v)}</span>`
          : show(v),
  },
)}`,
)}`;
  return x.render("Lead timeline", body);
}

export async function handoff(x: RequestContext) {
  if (!x.deps.handoff) throw new Error("the lead hand-off is not available on this platform");
  const r = await x.deps.handoff();
  await x.audit("lead hand-off", null, "ok", { result: r });
  return x.render("Lead hand-off", html`<p class="notice">${JSON.stringify(r)}</p><p><a href="/leads">Back</a></p>`);
}
