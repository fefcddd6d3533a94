import type { Pool, PoolClient, Queryable } from "../db";
import { withTransaction } from "../db";
import { standardizeEmail } from "./email";
import { parseName } from "./name";
import { standardizePhone } from "./phone";
import { lockPeople } from "./store";
import { GOLDEN_FIELDS, type GoldenField } from "./survive";

/**
 * The steward's path: find a golden record, read its lineage document, and merge, split or override it
 * over the rules in sql/functions/people.sql (people_merge, people_unmerge, people_split_record,
 * people_override). Every action, done or refused, is a row of the append-only console_audit log, and
 * runs under the resolution lock: a steward's decision lands between two resolution batches, never
 * inside one, and a later resolution keeps it (records stay where the steward put them, a split pair
 * is never linked again, an override wins survivorship).
 */

/** Who acts, for the audit log. */
export interface Steward {
  username: string;
  /** Where the action came from (the console, the CLI). */
  via: string;
  /** The audit row's role (default 'steward') and client address (the console's request; default none). */
  role?: string;
  ip?: string;
  /**
   * Whether every action must say why (default true: the CLI's --reason). The console's merge and unmerge
   * forms leave it optional; its audit row still says who, what and when.
   */
  requireReason?: boolean;
}

/** A steward action the rules refused (an unknown person, a record not in it): nothing changed. */
export class StewardRefusal extends Error {
  override name = "StewardRefusal";
}

/** The golden record's own fields: what a steward may override (and what the lineage shows each record supplied). */
export const OVERRIDE_FIELDS = GOLDEN_FIELDS;
export type OverrideField = GoldenField;

/** How a steward names a person: by golden id, or by a phone, e-mail or name one of its records holds. */
export type PersonQuery = { id: number } | { phone: string } | { email: string } | { name: string };

/** The golden records a query names, by id (a phone or e-mail is standardized first, as the pipeline does). */
export async function findPersons(db: Queryable, q: PersonQuery, limit = 50): Promise<number[]> {
  const ids = async (sql: string, params: unknown[]) =>
    (await db.query<{ person_id: string }>(sql, [...params, limit])).rows.map((r) => Number(r.person_id));
  if ("id" in q) return ids("SELECT person_id FROM persons WHERE person_id = $1 LIMIT $2", [q.id]);
  if ("phone" in q) {
    const p = standardizePhone(q.phone);
    if (!p.e164) throw new StewardRefusal(`not a phone number: ${q.phone} (${p.problem})`);
    return ids("SELECT DISTINCT person_id FROM person_phones WHERE phone = $1 ORDER BY 1 LIMIT $2", [p.e164]);
  }
  if ("email" in q) {
    const e = standardizeEmail(q.email);
    if (!e.email) throw new StewardRefusal(`not an e-mail address: ${q.email} (${e.problem})`);
    return ids("SELECT DISTINCT person_id FROM person_emails WHERE email = $1 ORDER BY 1 LIMIT $2", [e.email]);
  }
  const n = parseName(q.name);
  if (!n.last) throw new StewardRefusal(`give at least a surname: "${q.name}"`);
  // Records, not golden fields: a person is found by any name one of its sources gave.
  return ids(
    `SELECT DISTINCT person_id FROM person_records
      WHERE person_id IS NOT NULL AND lower(last_name) = lower($1) AND ($2::text IS NULL OR lower(first_name) = lower($2))
      ORDER BY 1 LIMIT $3`,
    [n.last, n.first],
  );
}

/** One source record of a golden record: where it came from and the fields it supplied. */
export interface LineageRecord {
  record_id: number;
  source_kind: string;
  source_key: string;
  import_id: string;
  file: string | null;
  source: string | null;
  row: number;
  resolved_at: string | null;
  /** The standardized fields this record supplied (nulls left out). */
  supplied: Record<string, string>;
  /** The values as the file wrote them. */
  raw: Record<string, unknown>;
  /** The golden fields that survived from this record, with the rule that chose it. */
  survived: { field: string; rule: string }[];
  /** The merge that brought it here, when one did (else it was attached by matching at resolution). */
  merged_from: { merge_id: number; person_id: number; cause: string } | null;
}

/** A link between two records of the person: the rule's score, tier and reason, and each field's part. */
export interface LinkExplained {
  record_id: number;
  matched_record_id: number;
  score: number;
  tier: string;
  reason: string;
  import_id: string | null;
  /** Field by field: how the two records compare (same, differs, one missing). */
  fields: { field: string; comparison: "same" | "differs" | "missing"; a: string | null; b: string | null }[];
}

export interface MergeEvent {
  merge_id: number;
  survivor_id: number;
  absorbed_id: number;
  cause: string;
  records: number[];
  import_id: string | null;
  merged_at: string;
  unmerged_at: string | null;
  unmerged_by: string | null;
}

/** The per-person lineage document: the golden record, each field's source and rule, its records, links and history. */
export interface PersonDocument {
  person_id: number;
  golden: Record<string, string | null>;
  /** Each golden field: the record it came from (null for an override) and the survivorship rule. */
  provenance: Record<string, { value: string | null; record_id: number | null; rule: string }>;
  records: LineageRecord[];
  links: LinkExplained[];
  merges: MergeEvent[];
  overrides: { field: string; value: string | null; set_by: string; reason: string | null; set_at: string }[];
  history: {
    audit_id: number;
    action: string;
    merge_id: number | null;
    import_id: string | null;
    detail: unknown;
    at: string;
  }[];
}

/** The golden record's fields a source record supplies: the same fields a steward may override. */
const SUPPLIED = OVERRIDE_FIELDS;
const COMPARED = ["first_name", "last_name", "dob", "email", "phone", "address_line1", "zip5", "ids"] as const;

/** The lineage document of golden record `id`, or undefined when it does not exist (merged away, or never). */
export async function personDocument(db: Queryable, id: number): Promise<PersonDocument | undefined> {
  const golden = (
    await db.query<Record<string, string | null>>(
      `SELECT ${SUPPLIED.map((f) => (f === "dob" ? "dob::text" : f)).join(", ")} FROM persons WHERE person_id = $1`,
      [id],
    )
  ).rows[0];
  if (!golden) return undefined;
  // The last survivorship says which record and rule gave each field; a field it did not list is unchanged since.
  const survive = (
    await db.query<{ detail: Record<string, { value: string | null; record_id: number | null; rule: string }> }>(
      "SELECT detail FROM merge_audit WHERE person_id = $1 AND action = 'survive' ORDER BY audit_id DESC LIMIT 1",
      [id],
    )
  ).rows[0];
  const provenance = survive?.detail ?? {};
  const merges = (
    await db.query<MergeEvent>(
      `SELECT merge_id::int, survivor_id::int, absorbed_id::int, cause, moved_records::int[] AS records, import_id,
              merged_at::text, unmerged_at::text, unmerged_by
         FROM person_merges WHERE survivor_id = $1 OR absorbed_id = $1 ORDER BY merge_id`,
      [id],
    )
  ).rows;
  const recordRows = (
    await db.query<{
      record_id: string;
      source_kind: string;
      source_key: string;
      import_id: string;
      file: string | null;
      source: string | null;
      row: string;
      resolved_at: string | null;
      raw: Record<string, unknown>;
      ids: string[];
      [field: string]: unknown;
    }>(
      `SELECT r.record_id, r.source_kind, r.source_key, r.import_id, i.file_name AS file, i.source, r.source_row AS row,
              r.resolved_at::text, r.raw, r.ids, ${SUPPLIED.map((f) => (f === "dob" ? "r.dob::text AS dob" : `r.${f}`)).join(", ")}
         FROM person_records r LEFT JOIN imports i ON i.id = r.import_id
        WHERE r.person_id = $1 ORDER BY r.record_id`,
      [id],
    )
  ).rows;
  const byRecord = new Map(recordRows.map((r) => [Number(r.record_id), r]));
  const records: LineageRecord[] = recordRows.map((r) => {
    const recordId = Number(r.record_id);
    const supplied: Record<string, string> = {};
    for (const f of SUPPLIED) if (r[f] !== null && r[f] !== undefined) supplied[f] = String(r[f]);
    if (r.ids.length > 0) supplied.ids = r.ids.join(" ");
    // The latest merge into this person that moved the record and was not undone.
    const from = merges
      .filter((m) => m.survivor_id === id && m.unmerged_at === null && m.records.includes(recordId))
      .at(-1);
    return {
      record_id: recordId,
      source_kind: r.source_kind,
      source_key: r.source_key,
      import_id: r.import_id,
      file: r.file,
      source: r.source,
      row: Number(r.row),
      resolved_at: r.resolved_at,
      supplied,
      raw: r.raw,
      survived: Object.entries(provenance)
        .filter(([, p]) => p.record_id !== null && Number(p.record_id) === recordId)
        .map(([field, p]) => ({ field, rule: p.rule })),
      merged_from: from ? { merge_id: from.merge_id, person_id: from.absorbed_id, cause: from.cause } : null,
    };
  });
  const value = (r: Record<string, unknown> | undefined, f: (typeof COMPARED)[number]): string | null => {
    if (!r) return null;
    if (f === "ids") return (r.ids as string[]).length > 0 ? (r.ids as string[]).join(" ") : null;
    return r[f] === null || r[f] === undefined ? null : String(r[f]);
  };
  const links = (
    await db.query<{
      record_id: string;
      matched_record_id: string;
      score: number;
      tier: string;
      reason: string;
      import_id: string | null;
    }>(
      `SELECT l.record_id, l.matched_record_id, l.score::float8 AS score, l.tier, l.reason, l.import_id
         FROM person_links l JOIN person_records r ON r.record_id = l.record_id
        WHERE r.person_id = $1 ORDER BY l.record_id, l.matched_record_id`,
      [id],
    )
  ).rows.map((l): LinkExplained => {
    const a = byRecord.get(Number(l.record_id));
    const b = byRecord.get(Number(l.matched_record_id));
    return {
      record_id: Number(l.record_id),
      matched_record_id: Number(l.matched_record_id),
      score: l.score,
      tier: l.tier,
      reason: l.reason,
      import_id: l.import_id,
      fields: COMPARED.map((field) => {
        const x = value(a, field),
          y = value(b, field);
        const comparison =
          x === null || y === null ? "missing" : x.toLowerCase() === y.toLowerCase() ? "same" : "differs";
        return { field: field === "ids" ? "identifiers" : field, comparison, a: x, b: y };
      }),
    };
  });
  const overrides = (
    await db.query<PersonDocument["overrides"][number]>(
      "SELECT field, value, set_by, reason, set_at::text FROM person_overrides WHERE person_id = $1 ORDER BY field",
      [id],
    )
  ).rows;
  const history = (
    await db.query<PersonDocument["history"][number]>(
      `SELECT audit_id::int, action, merge_id::int, import_id, detail, at::text FROM merge_audit
        WHERE person_id = $1 ORDER BY audit_id`,
      [id],
    )
  ).rows;
  return { person_id: id, golden, provenance, records, links, merges, overrides, history };
}

/** Appends one row to the console's audit log (append-only: its triggers refuse UPDATE and DELETE). */
async function audit(
  db: Queryable,
  who: Steward,
  action: string,
  target: string,
  outcome: "ok" | "refused",
  detail: Record<string, unknown>,
): Promise<void> {
  await db.query(
    "INSERT INTO console_audit (username, role, action, target, outcome, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [
      who.username,
      who.role ?? "steward",
      action,
      target,
      outcome,
      JSON.stringify({ ...detail, via: who.via }),
      who.ip ?? null,
    ],
  );
}

/**
 * Runs one steward action in a transaction under the resolution lock and audits it: the action's
 * rows and its audit row commit together; a refusal rolls the action back and is audited alone.
 */
async function act<T extends Record<string, unknown>>(
  pool: Pool,
  who: Steward,
  action: string,
  target: string,
  detail: Record<string, unknown>,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  if (!who.username.trim()) throw new StewardRefusal("a steward action needs the steward's name (--by)");
  if ((who.requireReason ?? true) && (typeof detail.reason !== "string" || !detail.reason.trim()))
    throw new StewardRefusal(`${action} needs a reason (--reason)`);
  try {
    return await withTransaction(pool, async (client) => {
      await lockPeople(client);
      const result = await fn(client);
      await audit(client, who, action, target, "ok", { ...detail, ...result });
      return result;
    });
  } catch (err) {
    // A rule's RAISE (P0001), a value PostgreSQL cannot take (class 22: data exception) or a refusal of ours:
    // the steward asked for something the data does not allow.
    const code = (err as { code?: string }).code ?? "";
    const refused = err instanceof StewardRefusal || code === "P0001" || code.startsWith("22");
    if (!refused) throw err;
    await audit(pool, who, action, target, "refused", { ...detail, error: (err as Error).message });
    throw err instanceof StewardRefusal ? err : new StewardRefusal((err as Error).message, { cause: err });
  }
}

const exists = async (db: Queryable, id: number): Promise<void> => {
  const found = await db.query("SELECT 1 FROM persons WHERE person_id = $1", [id]);
  if (found.rowCount === 0) throw new StewardRefusal(`no golden record ${id} (merged away? see \`person show\`)`);
};

/**
 * Merges golden record `absorbed` into `survivor`: one 'manual' link between their first records
 * says why (so an unmerge can forbid it again), people_merge keeps what it takes to undo it.
 */
export async function merge(
  pool: Pool,
  who: Steward,
  survivor: number,
  absorbed: number,
  reason: string | null,
): Promise<{ merge_id: number }> {
  return act(pool, who, "people.merge", `person ${survivor}`, { survivor, absorbed, reason }, async (client) => {
    if (survivor === absorbed) throw new StewardRefusal(`cannot merge person ${survivor} into itself`);
    await exists(client, survivor);
    await exists(client, absorbed);
    const first = async (p: number) =>
      (
        await client.query<{ r: string | null }>(
          "SELECT min(record_id) AS r FROM person_records WHERE person_id = $1",
          [p],
        )
      ).rows[0]!.r;
    const [a, b] = [await first(survivor), await first(absorbed)];
    const links =
      a && b
        ? [
            {
              record_id: Number(b),
              matched_record_id: Number(a),
              score: 1,
              tier: "manual",
              reason: `manual: ${reason ?? `by ${who.username}`}`,
            },
          ]
        : [];
    const { rows } = await client.query<{ merge_id: string }>(
      "SELECT people_merge($1, $2, $3, $4::jsonb, NULL) AS merge_id",
      [
        survivor,
        absorbed,
        reason ? `steward ${who.username}: ${reason}` : `manual by ${who.username}`,
        JSON.stringify(links),
      ],
    );
    return { merge_id: Number(rows[0]!.merge_id) };
  });
}

/**
 * Takes record `recordId` out of golden record `personId`. When a merge brought it in, that merge is
 * undone (people_unmerge: the absorbed golden record comes back with all it brought); otherwise the
 * record alone becomes a golden record of its own (people_split_record). Either way every record that
 * leaves is never linked again to any record that stays.
 */
export async function unmerge(
  pool: Pool,
  who: Steward,
  personId: number,
  recordId: number,
  reason: string,
): Promise<{ merge_id: number | null; person_id: number; records: number[] }> {
  return act(
    pool,
    who,
    "people.unmerge",
    `person ${personId}`,
    { person: personId, record: recordId, reason },
    async (c) => {
      await exists(c, personId);
      const owner = await c.query<{ person_id: string }>("SELECT person_id FROM person_records WHERE record_id = $1", [
        recordId,
      ]);
      if (Number(owner.rows[0]?.person_id) !== personId)
        throw new StewardRefusal(`record ${recordId} is not one of person ${personId}'s records`);
      const m = await c.query<{ merge_id: string; absorbed_id: string }>(
        `SELECT merge_id, absorbed_id FROM person_merges
        WHERE survivor_id = $1 AND unmerged_at IS NULL AND $2 = ANY (moved_records) ORDER BY merge_id DESC LIMIT 1`,
        [personId, recordId],
      );
      const by = signed(who, reason);
      if (m.rows[0]) return undo(c, personId, Number(m.rows[0].merge_id), Number(m.rows[0].absorbed_id), by);
      const { rows } = await c.query<{ person_id: string }>("SELECT people_split_record($1, $2, $3) AS person_id", [
        personId,
        recordId,
        by,
      ]);
      return { merge_id: null, person_id: Number(rows[0]!.person_id), records: [recordId] };
    },
  );
}

/** What a person_merges or split row records as `by`: the steward, and why when said. */
const signed = (who: Steward, reason: string | null) => (reason ? `${who.username}: ${reason}` : who.username);

/** Undoes merge `mergeId` of `survivor`: the absorbed golden record comes back, its pairs never linked again. */
async function undo(c: PoolClient, survivor: number, mergeId: number, restored: number, by: string) {
  await c.query("SELECT people_unmerge($1, $2)", [mergeId, by]);
  await forbidBetween(c, survivor, restored, mergeId);
  const moved = await c.query<{ record_id: string }>(
    "SELECT record_id FROM person_records WHERE person_id = $1 ORDER BY 1",
    [restored],
  );
  return { merge_id: mergeId, person_id: restored, records: moved.rows.map((r) => Number(r.record_id)) };
}

/**
 * Undoes one merge by its id (the console's merge history lists them): as `unmerge` does for the merge
 * that brought a record in. A merge already undone, or unknown, is refused.
 */
export async function unmergeById(
  pool: Pool,
  who: Steward,
  mergeId: number,
  reason: string | null,
): Promise<{ merge_id: number; person_id: number; records: number[] }> {
  return act(pool, who, "people.unmerge", `merge ${mergeId}`, { mergeId, reason }, async (c) => {
    const m = await c.query<{ survivor_id: string; absorbed_id: string; unmerged_at: Date | null }>(
      "SELECT survivor_id, absorbed_id, unmerged_at FROM person_merges WHERE merge_id = $1",
      [mergeId],
    );
    const row = m.rows[0];
    if (!row) throw new StewardRefusal(`no merge ${mergeId}`);
    if (row.unmerged_at) throw new StewardRefusal(`merge ${mergeId} was already undone`);
    return undo(c, Number(row.survivor_id), mergeId, Number(row.absorbed_id), signed(who, reason));
  });
}

/** Never link a record of one golden record to a record of the other again (the pairs, both ways). */
async function forbidBetween(c: PoolClient, a: number, b: number, mergeId: number | null): Promise<void> {
  await c.query(
    `INSERT INTO person_no_links (record_id, other_record_id, merge_id)
     SELECT x.record_id, y.record_id, $3 FROM person_records x CROSS JOIN person_records y
      WHERE x.person_id = $1 AND y.person_id = $2
     ON CONFLICT DO NOTHING`,
    [a, b, mergeId],
  );
}

/** Sets golden field `field` of `personId` (first in survivorship, whatever the sources say later); null blanks it. */
export async function override(
  pool: Pool,
  who: Steward,
  personId: number,
  field: string,
  value: string | null,
  reason: string | null,
): Promise<{ field: string; value: string | null }> {
  return act(pool, who, "people.override", `person ${personId}`, { field, value, reason }, async (c) => {
    if (!(OVERRIDE_FIELDS as readonly string[]).includes(field))
      throw new StewardRefusal(`not a field that can be overridden: ${field} (one of ${OVERRIDE_FIELDS.join(", ")})`);
    if (field === "dob" && value !== null && !/^\d{4}-\d{2}-\d{2}$/.test(value))
      throw new StewardRefusal(`a date of birth is written YYYY-MM-DD: ${value}`);
    await exists(c, personId);
    await c.query("SELECT people_override($1, $2, $3, $4, $5)", [personId, field, value, who.username, reason]);
    return { field, value };
  });
}
