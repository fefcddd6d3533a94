import { barChart } from "../chart";
import { html, show, table } from "../html";
import { BadRequest, NotFound, type RequestContext } from "../context";
import { compliance, riskOfLastPublication } from "../data/compliance";
import type { Queryable } from "@leadpipe/core";

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
<p class="muted">"removed by the check": the people a check removed from that publication in the waterfall's
order; an upper bound of who would be contacted without it, since a later check may remove some of them too.
"Re-evaluate each check" switches each compliance check off on its own and counts exactly.</p>
${
  d.waterfalls.length === 0
    ? html`<p class="muted">nothing published yet</p>`
    : d.waterfalls.map(
        (
          w,
        ) => html`<h3>${w.campaign} / ${w.channel}, as of ${w.as_of}: ${show(w.rows)} rows (published ${show(w.published_at)})</h3>
${table(
  ["check", "remaining", "removed by the check"],
  w.waterfall.map((s) => ({ check: s.step, remaining: s.remaining, "removed by the check": s.excluded })),
)}
<p><a href="/compliance/risk?campaign=${encodeURIComponent(w.campaign)}&amp;channel=${encodeURIComponent(w.channel)}">Re-evaluate each check</a></p>`,
      )
}`;
  return x.render("Compliance", body);
}

const NAME = /^[\w.-]{1,100}$/;

/** /compliance/risk?campaign=&channel=: who would be contacted against each rule if its check were skipped. */
export async function riskPage(x: RequestContext) {
  const campaign = x.c.req.query("campaign") ?? "";
  const channel = x.c.req.query("channel") ?? "";
  if (!NAME.test(campaign) || !NAME.test(channel)) throw new BadRequest("campaign and channel are required");
  // audience_evaluation over every customer: read-only, under the statement timeout of the pages' reads
  const reader = { query: (sql: string, params: unknown[]) => x.readOnly(sql, params) } as unknown as Queryable;
  const r = await riskOfLastPublication(x.deps.pool, reader, campaign, channel);
  if (!r) throw new NotFound(`${campaign} has not published on ${channel}`);
  const body = html`<p>The last publication of ${campaign} on ${channel} (as of ${r.asOf}, published ${show(r.publishedAt)}),
re-evaluated now on its as-of day: for each compliance check, the people who fail it and pass every other step, and are not
in the audience through another customer id — who would be contacted against that rule if only its check were skipped.</p>
${table(["check", "removed_in_waterfall", "contacted_if_skipped"], r.checks, {
  id: "risk",
  cell: (c, v) => (c === "contacted_if_skipped" && Number(v) > 0 ? html`<b class="bad">${show(v)}</b>` : show(v)),
})}
<p><a href="/compliance">Back to compliance</a></p>`;
  return x.render(`Risk: ${campaign} / ${channel}`, body);
}
