import { Audience } from "@leadpipe/core";
import { html, show, table } from "../html";
import { csrfField } from "../layout";
import { BadRequest, field, type RequestContext } from "../context";

function form(x: RequestContext, campaigns: string[], v: { campaign?: string; channel?: string; asOf?: string } = {}) {
  return html`<form class="filters" method="post" action="/audiences/publish">${csrfField(x.page.csrf)}
<label>Campaign <select name="campaign">${campaigns.map((c) => html`<option${c === v.campaign ? html` selected` : ""}>${c}</option>`)}</select></label>
<label>Channel <select name="channel">${["email", "call", "sms", "mail"].map((c) => html`<option${c === v.channel ? html` selected` : ""}>${c}</option>`)}</select></label>
<label>As of <input type="date" name="as_of" value="${v.asOf ?? new Date().toISOString().slice(0, 10)}"></label>
<button type="submit" name="dry_run" value="1" class="secondary">Dry run</button>
<button type="submit" name="dry_run" value="0">Publish</button></form>`;
}

async function campaigns(x: RequestContext): Promise<string[]> {
  return (await x.deps.pool.query<{ name: string }>("SELECT name FROM campaigns ORDER BY name")).rows.map(
    (r) => r.name,
  );
}

export async function audiencesPage(x: RequestContext) {
  const { rows } = await x.deps.pool.query(
    `SELECT campaign, channel, as_of, rows, times_published, published_at, audience_key FROM audience_publications
      ORDER BY published_at DESC LIMIT 100`,
  );
  return x.render(
    "Audiences",
    html`${form(x, await campaigns(x))}<h2>Published</h2>${table(["campaign", "channel", "as_of", "rows", "times_published", "published_at", "audience_key"], rows)}`,
  );
}

export async function publish(x: RequestContext) {
  const campaign = field(x.body, "campaign") ?? "";
  const channel = field(x.body, "channel") ?? "";
  const asOf = field(x.body, "as_of") ?? "";
  const dryRun = field(x.body, "dry_run") !== "0";
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw new BadRequest("as of is a date (YYYY-MM-DD)");
  let p: Audience.Publication;
  try {
    p = await Audience.publishAudience({ ...x.deps, pool: x.deps.writer }, { campaign, channel, asOf, dryRun });
  } catch (e) {
    await x.audit(dryRun ? "audience dry-run" : "audience publish", `${campaign}/${channel}`, "refused", {
      asOf,
      error: (e as Error).message,
    });
    if (e instanceof Audience.AudienceRequestError) throw new BadRequest(e.message);
    throw e;
  }
  await x.audit(dryRun ? "audience dry-run" : "audience publish", `${campaign}/${channel}`, "ok", {
    asOf,
    rows: p.rows,
    file: p.audience_file,
  });
  return x.render(
    "Audiences",
    html`${form(x, await campaigns(x), { campaign, channel, asOf })}
<p class="notice" id="publication">${dryRun ? "DRY RUN: " : ""}${campaign} / ${channel} as of ${asOf}: ${show(p.rows)} rows; ${p.audience_file}</p>
${table(["step", "remaining", "excluded"], p.waterfall as unknown as Record<string, unknown>[])}
${p.priority_conflicts.map((c) => html`<p class="notice error">${c.campaign} (priority ${c.priority}) was published earlier today with ${c.touchpoints} of these people</p>`)}`,
  );
}
