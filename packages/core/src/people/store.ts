import { copyRows } from "../copy";
import type { PoolClient } from "../db";
import { GOLDEN_FIELDS, type SurvivorRecord, type Survivorship } from "./survive";

/**
 * The SQL of resolving an import's people, one function per statement (resolve.ts says in which
 * order). The rules themselves live in sql/functions/people.sql (people_merge, people_survive);
 * this module reads records and candidates, and writes assignments, links, keys and counts.
 */

/** Serializes people resolution across imports: two imports never create two golden records for one person. */
export const PEOPLE_LOCK = 7241865325823966n;

/** Values per array parameter: a first import of a million people has 14 million keys, more than one JavaScript string holds as text. */
const PARAMETER_SLICE = 1_000_000;

/** A person record as matching reads it. */
export interface StoredRecord {
  record_id: number;
  person_id: number | null;
  first_name: string | null;
  middle_name: string | null;
  last_name: string | null;
  name_suffix: string | null;
  email: string | null;
  phone: string | null;
  phone7: string | null;
  dob: string | null;
  zip5: string | null;
  city: string | null;
  house_number: string | null;
  street_name: string | null;
  ids: string[];
}
const RECORD_COLUMNS =
  "r.record_id, r.person_id, r.first_name, r.middle_name, r.last_name, r.name_suffix, r.email, r.phone, r.phone7, r.dob, r.zip5, r.city, r.house_number, r.street_name, r.ids";

export interface Resolution {
  import_id: string;
  records: number;
  created: number;
  attached: number;
  merged: number;
  links: number;
  duration_ms: number;
}

export interface LinkRow {
  record_id: number;
  matched_record_id: number;
  score: number;
  tier: string;
  reason: string;
}

/** Takes the people lock for the transaction: one resolution (or steward action) at a time. */
export async function lockPeople(client: PoolClient): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock($1)", [PEOPLE_LOCK.toString()]);
}

/** The import's recorded resolution, when it was resolved before (a replay returns it). */
export async function recordedResolution(client: PoolClient, importId: string): Promise<Resolution | undefined> {
  const done = await client.query<Resolution>(
    "SELECT import_id, records, created, attached, merged, links, duration_ms FROM people_resolutions WHERE import_id = $1",
    [importId],
  );
  return done.rows[0];
}

/** The columns survivorship reads besides RECORD_COLUMNS. */
const SURVIVOR_COLUMNS =
  "r.src_seq::text AS src_seq, r.src_seq >> 32 AS seq_hi, r.src_seq & 4294967295 AS seq_lo, r.address_line1, r.state, r.zip4, r.phone_verified, r.email_verified, r.raw->>'phone' AS raw_phone, r.raw->>'email' AS raw_email";

/** A pending record: what matching reads, and what survivorship reads of a golden record it creates. */
export type PendingRecord = StoredRecord & Omit<SurvivorRecord, "person_id">;

/** The import's unresolved records after record `after`, in record order, `limit` at most. */
export async function pendingRecords(
  client: PoolClient,
  importId: string,
  after: number,
  limit: number,
): Promise<PendingRecord[]> {
  const { rows } = await client.query<PendingRecord>(
    `SELECT ${RECORD_COLUMNS}, ${SURVIVOR_COLUMNS} FROM person_records r
      WHERE r.import_id = $1 AND r.resolved_at IS NULL AND r.record_id > $2 ORDER BY r.record_id LIMIT $3`,
    [importId, after, limit],
  );
  return rows;
}

/** How many of the import's records are still unresolved. */
export async function pendingCount(client: PoolClient, importId: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM person_records WHERE import_id = $1 AND resolved_at IS NULL",
    [importId],
  );
  return rows[0]!.n;
}

/**
 * The ids of the resolved records sharing a key, at most maxBlock per key (the huge-block guard), ascending:
 * a batch's candidates, without their values (candidatePages reads those, a page at a time, by primary key
 * whatever the planner guesses a block holds: joined directly, it guessed millions and sorted every record).
 */
export async function candidateIds(client: PoolClient, keys: string[], maxBlock: number): Promise<number[]> {
  const found = new Set<number>();
  for (let from = 0; from < keys.length; from += PARAMETER_SLICE) {
    const { rows } = await client.query<{ record_id: number }>(
      `SELECT r.record_id FROM person_records r
        WHERE r.record_id = ANY (ARRAY(
                SELECT k.record_id FROM (SELECT key FROM unnest($1::text[]) AS u(key) ORDER BY 1) AS q
                 CROSS JOIN LATERAL (SELECT k.record_id FROM person_keys k WHERE k.key = q.key ORDER BY k.record_id LIMIT $2) k))
          AND r.resolved_at IS NOT NULL`,
      [keys.slice(from, from + PARAMETER_SLICE), maxBlock],
    );
    for (const r of rows) found.add(r.record_id); // slices can share records: each once
  }
  return [...found].sort((a, b) => a - b);
}

/** Records read per page by candidatePages. */
export const CANDIDATE_PAGE = 20_000;

/** The records of these ids (ascending), CANDIDATE_PAGE at a time in the same order. */
export async function* candidatePages(client: PoolClient, ids: readonly number[]): AsyncGenerator<StoredRecord[]> {
  for (let from = 0; from < ids.length; from += CANDIDATE_PAGE) {
    const { rows } = await client.query<StoredRecord>(
      `SELECT ${RECORD_COLUMNS} FROM person_records r WHERE r.record_id = ANY ($1) ORDER BY r.record_id`,
      [ids.slice(from, from + CANDIDATE_PAGE)],
    );
    yield rows;
  }
}

/** Pairs of these records a steward split: "a:b" both ways. */
export async function forbiddenPairs(client: PoolClient, ids: number[]): Promise<Set<string>> {
  const { rows } = await client.query<{ record_id: number; other_record_id: number }>(
    "SELECT record_id, other_record_id FROM person_no_links WHERE record_id = ANY ($1) OR other_record_id = ANY ($1)",
    [ids],
  );
  return new Set(rows.flatMap((n) => [`${n.record_id}:${n.other_record_id}`, `${n.other_record_id}:${n.record_id}`]));
}

/** The value keys ("#…") these records were counted under when resolved before (person_records.counted_keys). */
export async function countedValueKeys(
  client: PoolClient,
  recordIds: number[],
): Promise<{ record_id: number; key: string }[]> {
  if (recordIds.length === 0) return [];
  const { rows } = await client.query<{ record_id: number; key: string }>(
    `SELECT record_id, unnest(counted_keys) AS key FROM person_records
      WHERE record_id = ANY ($1) AND counted_keys IS NOT NULL`,
    [recordIds],
  );
  return rows;
}

/** Whether person_value_counts holds the population's counts (its total row exists). */
export async function valueCountsSeeded(client: PoolClient): Promise<boolean> {
  const seeded = await client.query("SELECT 1 FROM person_value_counts WHERE key = '#'");
  return (seeded.rowCount ?? 0) > 0;
}

/** The stored counts of these value keys, every total and every area code by ZIP3. */
export async function valueCounts(client: PoolClient, keys: string[]): Promise<[string, number][]> {
  const { rows } = await client.query<{ key: string; n: string }>(
    // Every area code by ZIP3 ("#r:…"): a pair of records asks for one record's area code beside the other's ZIP3.
    "SELECT key, n FROM person_value_counts WHERE key = ANY ($1) OR key IN ('#', '#f', '#g', '#l', '#d', '#z') OR left(key, 3) = '#r:'",
    [[...new Set(keys)]],
  );
  return rows.map((r) => [r.key, Number(r.n)]);
}

/** Values of one column among the resolved records, with how many records hold each. */
export async function resolvedValues(
  client: PoolClient,
  column: "first_name" | "last_name" | "dob" | "zip5",
): Promise<{ v: string; n: string }[]> {
  const { rows } = await client.query<{ v: string; n: string }>(
    `SELECT ${column}::text AS v, count(*) AS n FROM person_records WHERE resolved_at IS NOT NULL AND ${column} IS NOT NULL GROUP BY 1`,
  );
  return rows;
}

export async function resolvedCount(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    "SELECT count(*) AS n FROM person_records WHERE resolved_at IS NOT NULL",
  );
  return Number(rows[0]!.n);
}

/** Sets counts (seeding). */
export async function setValueCounts(client: PoolClient, rows: readonly (readonly [string, number])[]): Promise<void> {
  await client.query(
    "INSERT INTO person_value_counts (key, n) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT (key) DO UPDATE SET n = excluded.n",
    [rows.map((r) => r[0]), rows.map((r) => r[1])],
  );
}

/** Forgets these counts (totals set again from scratch). */
export async function deleteValueCounts(client: PoolClient, keys: readonly string[]): Promise<void> {
  await client.query("DELETE FROM person_value_counts WHERE key = ANY ($1)", [keys]);
}

/** Adds to counts. */
export async function addValueCounts(client: PoolClient, rows: readonly (readonly [string, number])[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO person_value_counts (key, n) SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (key) DO UPDATE SET n = person_value_counts.n + excluded.n`,
    [rows.map((d) => d[0]), rows.map((d) => d[1])],
  );
}

/** Marks person_value_counts' anchored totals as kept with person_anchor_members (resolve.ts seeds both without it). */
export const ANCHORS_SEEDED = "#!anchors";

/** Whether the anchored totals are kept (their marker is in person_value_counts). */
export async function anchorsSeeded(client: PoolClient): Promise<boolean> {
  const seeded = await client.query("SELECT 1 FROM person_value_counts WHERE key = $1", [ANCHORS_SEEDED]);
  return (seeded.rowCount ?? 0) > 0;
}

/**
 * The counted records with a given name and an e-mail or a phone after record `after`, in record order: resolved, or
 * pending in an import whose batches have begun (counted with it; a record not yet counted is counted with its import).
 */
export async function anchorableRecords(client: PoolClient, after: number, limit: number): Promise<StoredRecord[]> {
  const { rows } = await client.query<StoredRecord>(
    `SELECT ${RECORD_COLUMNS} FROM person_records r
      WHERE r.record_id > $1 AND r.first_name IS NOT NULL AND (r.email IS NOT NULL OR r.phone IS NOT NULL)
        AND (r.resolved_at IS NOT NULL OR r.import_id IN (SELECT import_id FROM people_resolution_progress))
      ORDER BY r.record_id LIMIT $2`,
    [after, limit],
  );
  return rows;
}

/** A member of an anchoring group as person_anchor_members keeps it. */
export interface AnchorMemberRow {
  group_key: string;
  record_id: number;
  formal: string;
  last_name: string | null;
  dob: string | null;
  zip5: string | null;
  phone7: string | null;
  email: string | null;
}

/** The anchoring groups these records are members of. */
export async function anchorGroupsOf(client: PoolClient, recordIds: number[]): Promise<string[]> {
  if (recordIds.length === 0) return [];
  const { rows } = await client.query<{ group_key: string }>(
    "SELECT DISTINCT group_key FROM person_anchor_members WHERE record_id = ANY ($1)",
    [recordIds],
  );
  return rows.map((r) => r.group_key);
}

/** The members of these groups, at most `limit` per group (a bigger group anchors nothing: its first `limit` say so). */
export async function anchorMembers(
  client: PoolClient,
  groupKeys: string[],
  limit: number,
): Promise<AnchorMemberRow[]> {
  const members: AnchorMemberRow[] = [];
  for (let from = 0; from < groupKeys.length; from += PARAMETER_SLICE) {
    const { rows } = await client.query<AnchorMemberRow>(
      `SELECT m.* FROM unnest($1::text[]) AS g(key)
        CROSS JOIN LATERAL (SELECT * FROM person_anchor_members m WHERE m.group_key = g.key ORDER BY m.record_id LIMIT $2) m`,
      [groupKeys.slice(from, from + PARAMETER_SLICE), limit],
    );
    members.push(...rows);
  }
  return members;
}

/** The members after (`group_key`, `record_id`) in group order, `limit` at most (seeding the anchored totals). */
export async function anchorMembersAfter(
  client: PoolClient,
  after: { group_key: string; record_id: number } | undefined,
  limit: number,
): Promise<AnchorMemberRow[]> {
  const { rows } = await client.query<AnchorMemberRow>(
    `SELECT * FROM person_anchor_members WHERE $1::text IS NULL OR (group_key, record_id) > ($1, $2)
      ORDER BY group_key, record_id LIMIT $3`,
    [after?.group_key ?? null, after?.record_id ?? 0, limit],
  );
  return rows;
}

/** Replaces the group memberships of these records with `rows` (a newer delivery's values), through COPY. */
export async function replaceAnchorMembers(
  client: PoolClient,
  recordIds: number[],
  rows: readonly AnchorMemberRow[],
): Promise<void> {
  if (recordIds.length > 0)
    await client.query("DELETE FROM person_anchor_members WHERE record_id = ANY ($1)", [recordIds]);
  await copyRows(
    client,
    "person_anchor_members",
    ["group_key", "record_id", "formal", "last_name", "dob", "zip5", "phone7", "email"],
    rows.map((r) => [r.group_key, r.record_id, r.formal, r.last_name, r.dob, r.zip5, r.phone7, r.email]),
  );
}

/** Forgets every group membership (before seeding them again from the records). */
export async function clearAnchorMembers(client: PoolClient): Promise<void> {
  await client.query("DELETE FROM person_anchor_members");
}

/** `n` ids for new golden records, ascending (the records are written with their values by createPersons). */
export async function newPersonIds(client: PoolClient, n: number): Promise<number[]> {
  if (n === 0) return [];
  const { rows } = await client.query<{ person_id: number }>(
    "SELECT nextval('persons_person_id_seq') AS person_id FROM generate_series(1, $1::int) ORDER BY 1",
    [n],
  );
  return rows.map((r) => Number(r.person_id)).sort((a, b) => a - b);
}

/**
 * Golden records created by this batch, written once with their surviving values and their contact points (the
 * records they are made of are all in the batch, so nothing is read back), through COPY.
 */
export async function createPersons(client: PoolClient, made: Survivorship): Promise<void> {
  await copyRows(
    client,
    "persons",
    ["person_id", ...GOLDEN_FIELDS],
    made.golden.map((g) => [g.person_id, ...GOLDEN_FIELDS.map((f) => g.values[f])]),
  );
  await copyRows(client, "person_phones", PHONE_COLUMNS, made.phones.map(contactRow));
  await copyRows(client, "person_emails", EMAIL_COLUMNS, made.emails.map(contactRow));
  await copyRows(client, "person_addresses", ADDRESS_COLUMNS, made.addresses.map(addressRow));
}
const PHONE_COLUMNS = ["person_id", "phone", "verified", "record_id", "raw", "last_seq"];
const EMAIL_COLUMNS = ["person_id", "email", "verified", "record_id", "raw", "last_seq"];
const ADDRESS_COLUMNS = ["person_id", "address_line1", "city", "state", "zip5", "zip4", "record_id", "last_seq"];
const contactRow = (c: Survivorship["phones"][number]) =>
  [c.person_id, c.value, c.verified, c.record_id, c.raw, c.last_seq] as const;
const addressRow = (a: Survivorship["addresses"][number]) =>
  [a.person_id, a.address_line1, a.city, a.state, a.zip5, a.zip4, a.record_id, a.last_seq] as const;

/** Each record's golden record and the value keys it is counted under, and the record marked resolved. */
export async function assignRecords(
  client: PoolClient,
  assign: readonly { record_id: number; person_id: number; counted: readonly string[] }[],
): Promise<void> {
  // record_id = ANY: found by primary key, not by hashing every record. A record's keys travel as one text (unit
  // separator between them): an array of arrays would have to be rectangular.
  await client.query(
    `UPDATE person_records r SET person_id = a.person_id, resolved_at = now(), counted_keys = string_to_array(a.counted, E'\\x1f')
       FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS a(record_id, person_id, counted)
      WHERE r.record_id = a.record_id AND r.record_id = ANY ($1)`,
    [assign.map((a) => a.record_id), assign.map((a) => a.person_id), assign.map((a) => a.counted.join("\x1f"))],
  );
  // Rule 3 of sql/functions/legacy_migration.sql: a legacy touchpoint names its person record's golden record, from
  // the record's first resolution on (a later move is the trigger of migration 331's). Under the people lock, as every
  // move of a record is: no merge can pass this update. Only legacy touchpoints have a person record (partial index).
  await client.query(
    `UPDATE touchpoints t SET person_id = a.person_id
       FROM unnest($1::bigint[], $2::bigint[]) AS a(record_id, person_id)
      WHERE t.person_record_id = a.record_id AND t.person_record_id = ANY ($1) AND t.person_id IS DISTINCT FROM a.person_id`,
    [assign.map((a) => a.record_id), assign.map((a) => a.person_id)],
  );
}

/** The links found, through COPY: a million links as one jsonb parameter nears jsonb's 256 MB limit. */
export async function insertLinks(client: PoolClient, importId: string, links: readonly LinkRow[]): Promise<void> {
  // Once per transaction (the batches of an import share it), emptied for each batch.
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS resolved_links
    (record_id bigint, matched_record_id bigint, score numeric, tier text, reason text) ON COMMIT DROP`);
  await client.query("TRUNCATE resolved_links");
  await copyRows(
    client,
    "resolved_links",
    ["record_id", "matched_record_id", "score", "tier", "reason"],
    links.map((l) => [l.record_id, l.matched_record_id, l.score, l.tier, l.reason]),
  );
  await client.query(
    `INSERT INTO person_links (record_id, matched_record_id, score, tier, reason, import_id)
     SELECT record_id, matched_record_id, score, tier, reason, $1 FROM resolved_links ON CONFLICT DO NOTHING`,
    [importId],
  );
}

/** The records' blocking keys, replacing those of re-queued records (`requeued`, resolved before), through COPY. */
export async function replaceKeys(
  client: PoolClient,
  requeued: number[],
  keyRows: (readonly [string, number])[],
): Promise<void> {
  // Only a record resolved before has keys (person_keys has no index by record: this reads the whole table).
  if (requeued.length > 0) await client.query("DELETE FROM person_keys WHERE record_id = ANY ($1)", [requeued]);
  // Each record's keys once: the record has no keys left (deleted above, or never resolved), so a plain COPY, in key
  // order (each index page visited once, not once per record; the order only has to be close to the index's).
  keyRows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  await copyRows(client, "person_keys", ["key", "record_id"], keyRows);
}

/** The audit of what the import did to each golden record it touched (created it, or attached records). */
export async function auditTouched(
  client: PoolClient,
  importId: string,
  touched: readonly { person_id: number; action: "create" | "attach"; records: number[] }[],
): Promise<void> {
  await client.query(
    `INSERT INTO merge_audit (person_id, action, import_id, detail)
     SELECT person_id, action, $1, jsonb_build_object('records', records) FROM jsonb_to_recordset($2::jsonb) AS x(person_id bigint, action text, records jsonb)`,
    [importId, JSON.stringify(touched)],
  );
}

/** people_merge: `absorbed` into `survivor`, with the links that bridged them. */
export async function mergePersons(
  client: PoolClient,
  survivor: number,
  absorbed: number,
  links: readonly LinkRow[],
  importId: string,
): Promise<void> {
  await client.query("SELECT people_merge($1, $2, 'match', $3::jsonb, $4)", [
    survivor,
    absorbed,
    JSON.stringify(links),
    importId,
  ]);
}

/** people_survive for golden records that existed before this batch. */
export async function survive(client: PoolClient, personIds: number[], importId: string): Promise<void> {
  await client.query("SELECT people_survive($1::bigint[], $2)", [personIds, importId]);
}

/** The 'survive' audit rows of golden records created with values (createPersons), in golden-record order. */
export async function auditCreated(client: PoolClient, importId: string, created: Survivorship): Promise<void> {
  await copyRows(
    client,
    "merge_audit",
    ["person_id", "action", "import_id", "detail"],
    created.golden
      .filter((g) => GOLDEN_FIELDS.some((f) => g.values[f] !== null))
      .sort((a, b) => a.person_id - b.person_id)
      .map((g) => [g.person_id, "survive", importId, g.detail]),
  );
}

/** The import's resolution, recorded: a replay finds it and changes nothing. */
export async function recordResolution(client: PoolClient, r: Resolution): Promise<void> {
  await client.query(
    "INSERT INTO people_resolutions (import_id, records, created, attached, merged, links, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [r.import_id, r.records, r.created, r.attached, r.merged, r.links, r.duration_ms],
  );
}

/** The import's progress: undefined until its records are fed and counted. */
export async function progressOf(
  client: PoolClient,
  importId: string,
): Promise<{ batches: number; records: number; merged: number; links: number; started_at: Date } | undefined> {
  const { rows } = await client.query(
    "SELECT batches, records, merged, links, started_at FROM people_resolution_progress WHERE import_id = $1",
    [importId],
  );
  return rows[0];
}

/** The import's records are fed and counted: the batches may begin (each in its own transaction). */
export async function startProgress(client: PoolClient, importId: string): Promise<void> {
  await client.query("INSERT INTO people_resolution_progress (import_id) VALUES ($1)", [importId]);
}

/** One more batch committed, with what it did. */
export async function addProgress(
  client: PoolClient,
  importId: string,
  batch: { records: number; merged: number; links: number },
): Promise<void> {
  await client.query(
    `UPDATE people_resolution_progress SET batches = batches + 1, records = records + $2, merged = merged + $3,
            links = links + $4, updated_at = now() WHERE import_id = $1`,
    [importId, batch.records, batch.merged, batch.links],
  );
}

/** Golden records this import created, and those it attached records to (not created by it), from merge_audit. */
export async function touchedBy(client: PoolClient, importId: string): Promise<{ created: number; attached: number }> {
  const { rows } = await client.query<{ created: number; attached: number }>(
    `WITH t AS (SELECT person_id, bool_or(action = 'create') AS created FROM merge_audit
                 WHERE import_id = $1 AND action IN ('create', 'attach') GROUP BY person_id)
     SELECT count(*) FILTER (WHERE created)::int AS created, count(*) FILTER (WHERE NOT created)::int AS attached FROM t`,
    [importId],
  );
  return rows[0]!;
}

/** The resolution is recorded: its progress row goes. */
export async function endProgress(client: PoolClient, importId: string): Promise<void> {
  await client.query("DELETE FROM people_resolution_progress WHERE import_id = $1", [importId]);
}

/** Marks person_value_counts' area codes by ZIP3 ("#r:617|021") as counted for every resolved record. */
export const REGIONS_SEEDED = "#!regions";

/** Whether the area codes by ZIP3 are counted (their marker is in person_value_counts). */
export async function regionsSeeded(client: PoolClient): Promise<boolean> {
  const seeded = await client.query("SELECT 1 FROM person_value_counts WHERE key = $1", [REGIONS_SEEDED]);
  return (seeded.rowCount ?? 0) > 0;
}

/**
 * Counts the area codes by ZIP3 (frequencies.ts regionKey: a US phone and a ZIP) afresh, for a population counted before
 * these keys existed or whose counts were lost: each record is counted as its import's count left it, and a record
 * counted by its values gets its key in counted_keys, so that a newer delivery takes it away. Counted by their values:
 * the resolved records and the pending ones of an import whose batches have begun (counted at its start, and given
 * these keys when resolved); a pending record of an import not counted yet keeps the key its last resolution counted.
 *
 * Counting and marking are one statement, so one snapshot decides both: a contacts promotion (people_upsert_rows, which
 * does not take the people lock) that re-delivers a record meanwhile cannot leave it counted and unmarked. The marking
 * joins the records counted by id and asks nothing the promotion changes: a row updated after the snapshot is still
 * marked with the key it was counted under, which its import's count then takes away.
 */
export async function seedRegions(client: PoolClient): Promise<void> {
  const region =
    "CASE WHEN r.phone ~ '^\\+1[0-9]{10}$' AND r.zip5 <> '' THEN '#r:' || substr(r.phone, 3, 3) || '|' || left(r.zip5, 3) END";
  const without = "array(SELECT k FROM unnest(r.counted_keys) k WHERE left(k, 3) <> '#r:')";
  await client.query("DELETE FROM person_value_counts WHERE left(key, 3) = '#r:' OR key = '#r'");
  await client.query(
    `WITH counted AS (
       SELECT r.record_id, r.by_values, r.counted_keys IS NOT NULL AS marks,
              CASE WHEN r.by_values THEN ${region}
                   ELSE (SELECT k FROM unnest(r.counted_keys) k WHERE left(k, 3) = '#r:' LIMIT 1) END AS key
         FROM (SELECT r.record_id, r.phone, r.zip5, r.counted_keys, r.resolved_at IS NOT NULL OR p.import_id IS NOT NULL AS by_values
                 FROM person_records r LEFT JOIN people_resolution_progress p USING (import_id)) r
     ), marked AS (
       UPDATE person_records r SET counted_keys = ${without} || array_remove(ARRAY[c.key], NULL)
         FROM counted c
        WHERE r.record_id = c.record_id AND c.by_values AND c.marks
          AND r.counted_keys IS DISTINCT FROM ${without} || array_remove(ARRAY[c.key], NULL)
     )
     INSERT INTO person_value_counts (key, n)
       SELECT key, count(*) FROM counted WHERE key IS NOT NULL GROUP BY key
       UNION ALL SELECT '#r', count(key) FROM counted HAVING count(key) > 0
       UNION ALL SELECT $1, 1`,
    [REGIONS_SEEDED],
  );
}
