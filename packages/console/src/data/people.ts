import { People, type Queryable } from "@leadpipe/core";

const PERSON_COLUMNS = "person_id, first_name, last_name, phone, email, city, state, zip5, updated_at";

/**
 * Golden records by id, surname, "first last", e-mail or phone. Each kind is its own probe of an index
 * (migration 291: lower(last_name), lower(email), phone; the primary key), never a scan of persons: a
 * full name is looked up by the surnames it may end with (the text after each space) and then
 * compared whole.
 */
export async function searchPeople(db: Queryable, q: string, limit = 50) {
  const text = q.trim().slice(0, 200);
  if (!text) return [];
  const id = /^[0-9]{1,18}$/.test(text) ? text : null;
  const surnames = [text, ...[...text.matchAll(/ /g)].map((m) => text.slice(m.index + 1))].filter(Boolean);
  const digits = text.replace(/\D/g, "");
  const phones = digits ? [text, `+1${digits}`] : [text];
  const { rows } = await db.query(
    `SELECT ${PERSON_COLUMNS} FROM persons WHERE person_id = $1::bigint
     UNION
     SELECT ${PERSON_COLUMNS} FROM persons
      WHERE lower(last_name) = ANY (ARRAY(SELECT lower(s) FROM unnest($2::text[]) s))
        AND last_name IS NOT NULL AND (lower(last_name) = lower($3) OR lower(first_name || ' ' || last_name) = lower($3))
     UNION
     SELECT ${PERSON_COLUMNS} FROM persons WHERE lower(email) = lower($3) AND email IS NOT NULL
     UNION
     SELECT ${PERSON_COLUMNS} FROM persons WHERE phone = ANY ($4::text[])
     ORDER BY person_id LIMIT $5`,
    [id, surnames, text, phones, limit],
  );
  return rows;
}

export async function person(db: Queryable, id: number) {
  const {
    rows: [golden],
  } = await db.query("SELECT * FROM persons WHERE person_id = $1", [id]);
  if (!golden) return undefined;
  const { rows: records } = await db.query(
    `SELECT r.record_id, r.source_kind, r.source_key, i.file_name AS source_file, r.source_row, r.first_name, r.last_name,
            r.phone, r.email, r.address_line1, r.city, r.state, r.zip5
       FROM person_records r LEFT JOIN imports i ON i.id = r.import_id WHERE r.person_id = $1 ORDER BY r.record_id`,
    [id],
  );
  const { rows: links } = await db.query(
    `SELECT l.record_id, l.matched_record_id, l.score::float8 AS score, l.tier, l.reason, l.created_at
       FROM person_links l JOIN person_records r ON r.record_id = l.record_id WHERE r.person_id = $1
      ORDER BY l.score DESC, l.record_id`,
    [id],
  );
  const { rows: merges } = await db.query(
    `SELECT merge_id, survivor_id, absorbed_id, cause, cardinality(moved_records) AS records, merged_at, unmerged_at, unmerged_by
       FROM person_merges WHERE survivor_id = $1 OR absorbed_id = $1 ORDER BY merge_id DESC`,
    [id],
  );
  const { rows: overrides } = await db.query(
    "SELECT field, value, set_by, reason, set_at FROM person_overrides WHERE person_id = $1 ORDER BY field",
    [id],
  );
  const { rows: history } = await db.query(
    "SELECT audit_id, action, merge_id, detail, at FROM merge_audit WHERE person_id = $1 ORDER BY audit_id DESC LIMIT 100",
    [id],
  );
  // the fields the CRM owns (issue 23: Pipedrive's deal stage, owner, do-not-contact, notes), as the last sync read them
  const { rows: crm } = await db.query(
    `SELECT system, owner_id, deal_stage_id, deal_status, deal_owner_id, do_not_contact, notes, deleted_in_crm, updated_at
       FROM person_crm_fields WHERE person_id = $1`,
    [id],
  );
  return { golden, records, links, merges, overrides, history, crm };
}

/** The fields a steward may override: the steward CLI's list. */
export const OVERRIDE_FIELDS: readonly string[] = People.Steward.OVERRIDE_FIELDS;
