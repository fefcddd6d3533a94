import { html, show, table } from "../html";
import { csrfField } from "../layout";
import { BadRequest, NotFound, field, type RequestContext } from "../context";
import { People } from "@leadpipe/core";
import { OVERRIDE_FIELDS, person, searchPeople } from "../data/people";

const idCell = (c: string, v: unknown) =>
  c === "person_id" || c === "survivor_id" || c === "absorbed_id"
    ? html`<a href="/people/${String(v)}">${String(v)}</a>`
    : show(v);

export async function peoplePage(x: RequestContext) {
  const q = (x.c.req.query("q") ?? "").trim();
  const rows = q ? await searchPeople(x.deps.pool, q) : [];
  const body = html`<form class="filters" method="get" action="/people">
<label>Person id, name, phone or e-mail <input name="q" value="${q}" size="40"></label><button type="submit">Find</button></form>
${q ? table(["person_id", "first_name", "last_name", "phone", "email", "city", "state", "zip5", "updated_at"], rows, { cell: idCell }) : ""}
${
  x.user.role === "steward"
    ? html`<h2>Merge two golden records</h2>
<form class="filters" method="post" action="/people/merge">${csrfField(x.page.csrf)}
<label>Survivor id <input name="survivor" inputmode="numeric" required></label>
<label>Absorbed id <input name="absorbed" inputmode="numeric" required></label>
<label>Reason <input name="reason"></label><button type="submit">Merge</button></form>`
    : ""
}`;
  return x.render("People", body);
}

const wholeId = (s: string | undefined, what: string) => {
  if (!s || !/^\d{1,18}$/.test(s.trim())) throw new BadRequest(`${what} is a whole number`);
  return Number(s.trim());
};

export async function personPage(x: RequestContext) {
  const id = wholeId(x.c.req.param("id"), "a person id");
  const p = await person(x.deps.pool, id);
  if (!p) throw new NotFound(`no golden record ${id} (merged away? see its merges in the audit log)`);
  const steward = x.user.role === "steward";
  const body = html`
<dl class="facts">${Object.entries(p.golden).map(([k, v]) => html`<dt>${k}</dt><dd>${show(v)}</dd>`)}</dl>
<h2>Source records</h2>${table(["record_id", "source_kind", "source_key", "source_file", "source_row", "first_name", "last_name", "phone", "email", "address_line1", "city", "state", "zip5"], p.records)}
<h2>Links</h2>${table(["record_id", "matched_record_id", "score", "tier", "reason", "created_at"], p.links)}
<h2>Merges</h2>${table(
    ["merge_id", "survivor_id", "absorbed_id", "cause", "records", "merged_at", "unmerged_at", "unmerged_by", "undo"],
    p.merges,
    {
      cell: (c, v, row) =>
        c === "undo"
          ? row.unmerged_at || !steward
            ? ""
            : html`<form class="inline" method="post" action="/people/unmerge">${csrfField(x.page.csrf)}
<input type="hidden" name="merge_id" value="${String(row.merge_id)}"><input type="hidden" name="person_id" value="${String(id)}">
<button type="submit" class="danger">Unmerge</button></form>`
          : idCell(c, v),
    },
  )}
<h2>In the CRM</h2>${table(
    ["system", "owner_id", "deal_stage_id", "deal_status", "do_not_contact", "notes", "deleted_in_crm", "updated_at"],
    p.crm,
    { cell: (c, v) => (c === "notes" ? html`<span class="wrap">${show(v)}</span>` : show(v)), id: "crm" },
  )}
<h2>Overrides</h2>${table(["field", "value", "set_by", "reason", "set_at"], p.overrides)}
${
  steward
    ? html`<form class="filters" method="post" action="/people/${String(id)}/override">${csrfField(x.page.csrf)}
<label>Field <select name="field">${OVERRIDE_FIELDS.map((f) => html`<option>${f}</option>`)}</select></label>
<label>Value <input name="value"></label><label>Reason <input name="reason" required></label><button type="submit">Override</button></form>`
    : ""
}
<h2>History</h2>${table(["audit_id", "action", "merge_id", "detail", "at"], p.history)}`;
  return x.render(`Person ${id}`, body);
}

/**
 * The steward's actions go through People.Steward (the CLI's path: its rules, the resolution lock, and
 * the audit row in the same transaction as the change), as the console's user and address.
 */
const steward = (x: RequestContext): People.Steward.Steward => ({
  username: x.user.username,
  via: "console",
  role: x.user.role,
  ip: x.ip,
  requireReason: false,
});

/** Runs one steward action; a refusal (already audited by the steward's path) is the page's 400. */
async function stewardAction<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof People.Steward.StewardRefusal) throw new BadRequest(e.message);
    throw e;
  }
}

const optional = (x: RequestContext, name: string) => field(x.body, name)?.trim() || null;

export async function mergeAction(x: RequestContext) {
  const survivor = wholeId(field(x.body, "survivor"), "the survivor id");
  const absorbed = wholeId(field(x.body, "absorbed"), "the absorbed id");
  const reason = optional(x, "reason");
  await stewardAction(() => People.Steward.merge(x.deps.writer, steward(x), survivor, absorbed, reason));
  return x.c.redirect(`/people/${survivor}`, 303);
}

export async function unmergeAction(x: RequestContext) {
  const mergeId = wholeId(field(x.body, "merge_id"), "the merge id");
  const back = field(x.body, "person_id");
  const reason = optional(x, "reason");
  await stewardAction(() => People.Steward.unmergeById(x.deps.writer, steward(x), mergeId, reason));
  return x.c.redirect(back && /^\d+$/.test(back) ? `/people/${back}` : "/people", 303);
}

export async function overrideAction(x: RequestContext) {
  const id = wholeId(x.c.req.param("id"), "a person id");
  const f = field(x.body, "field") ?? "";
  if (!OVERRIDE_FIELDS.includes(f)) throw new BadRequest(`not a field that can be overridden: ${f}`);
  const value = optional(x, "value");
  const reason = optional(x, "reason");
  await stewardAction(() => People.Steward.override(x.deps.writer, steward(x), id, f, value, reason));
  return x.c.redirect(`/people/${id}`, 303);
}
