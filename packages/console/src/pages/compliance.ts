import { barChart } from "../chart";
import { html, show, table } from "../html";
import type { RequestContext } from "../context";
import { compliance } from "../data/compliance";

export async function compliancePage(x: RequestContext) {
  const d = await compliance(x.deps.pool);
  const byRule = new Map<string, number>();
  for (const e of d.exclusions) byRule.set(String(e.rule), (byRule.get(String(e.rule)) ?? 0) + Number(e.excluded));
  const body = html`
<h2>Exclusions by rule (published audiences, 90 days)</h2>
${barChart(
  [...byRule].map(([label, value]) => ({ label, value })),
  { title: "people excluded by each rule, 90 days" },
)}
${table(["day", "rule", "excluded"], d.exclusions)}
<h2>Do-not-call registry freshness</h2>
<p class="muted">the age of each area code's last full file; older than 31 days breaks the FTC's rule.</p>
${table(["area_code", "last_full_file", "age_days"], d.dnc, { cell: (c, v) => (c === "age_days" && Number(v) > 31 ? html`<span class="bad">${show(v)}</span>` : show(v)) })}
<h2>Opt-outs by channel</h2>
${table(["channel", "opt_outs", "last_30_days", "latest"], d.optOuts)}
<h2>Last publish per campaign: the waterfall and the risk</h2>
<p class="muted">"at risk if skipped": the people a check removed from that publication, who would have been
contacted without it; an upper bound, since a later check may have removed some of them too.</p>
${
  d.waterfalls.length === 0
    ? html`<p class="muted">nothing published yet</p>`
    : d.waterfalls.map(
        (
          w,
        ) => html`<h3>${w.campaign} / ${w.channel}, as of ${w.as_of}: ${show(w.rows)} rows (published ${show(w.published_at)})</h3>
${table(
  ["check", "remaining", "at risk if skipped"],
  w.waterfall.map((s) => ({ check: s.step, remaining: s.remaining, "at risk if skipped": s.excluded })),
)}`,
      )
}`;
  return x.render("Compliance", body);
}
