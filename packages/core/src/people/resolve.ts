import { copyRows } from "../copy";
import type { PoolClient, Queryable } from "../db";
import { withTransaction, type Pool } from "../db";
import type { Logger } from "../log";
import { Frequencies, frequencyKeys } from "./frequencies";
import { blockKeys, profileOf, type Link, type MatchProfile } from "./match";
import { Matcher } from "./matcher";
import type { PersonRecord } from "./record";

/** Serializes people resolution across imports: two imports never create two golden records for one person. */
export const PEOPLE_LOCK = 7241865325823966n;

/** The columns of person_records that a standardized record fills. */
export interface RecordRow {
  source_kind: string;
  source_key: string;
  import_id: string;
  source_row: number;
  src_seq: string;
  first_name: string | null;
  middle_name: string | null;
  last_name: string | null;
  name_suffix: string | null;
  email: string | null;
  phone: string | null;
  phone7: string | null;
  dob: string | null;
  address_line1: string | null;
  house_number: string | null;
  street_name: string | null;
  city: string | null;
  state: string | null;
  zip5: string | null;
  zip4: string | null;
  ids: string[];
  phone_verified?: boolean;
  email_verified?: boolean;
  raw: Record<string, unknown>;
}

export type RecordColumns = Omit<RecordRow, "source_kind" | "source_key" | "import_id" | "source_row" | "src_seq">;

/** The columns of person_records a standardized record fills, lineage aside. */
export function recordColumns(r: PersonRecord): RecordColumns {
  return {
    first_name: r.first,
    middle_name: r.middle,
    last_name: r.last,
    name_suffix: r.suffix,
    email: r.email,
    phone: r.phone,
    phone7: r.phone7,
    dob: r.dob,
    address_line1: r.line1,
    house_number: r.houseNumber,
    street_name: r.streetName,
    city: r.city,
    state: r.state,
    zip5: r.zip5,
    zip4: r.zip4,
    ids: r.ids,
    raw: Object.fromEntries(Object.entries(r.raw).filter(([, v]) => v !== null && v !== undefined && v !== "")),
  };
}

export function recordRow(
  r: PersonRecord,
  lineage: Pick<RecordRow, "source_kind" | "source_key" | "import_id" | "source_row" | "src_seq">,
): RecordRow {
  return { ...lineage, ...recordColumns(r) };
}

/** Upserts standardized records (people_upsert_records: a replay changes nothing, a newer delivery re-queues the record). */
export async function upsertRecords(
  db: Queryable,
  rows: readonly RecordRow[],
): Promise<{ inserted: number; updated: number }> {
  const total = { inserted: 0, updated: 0 };
  // In slices: a million-row import must not become one JSON parameter of hundreds of MB.
  for (let from = 0; from < rows.length; from += UPSERT_SLICE) {
    const { rows: r } = await db.query<{ inserted: number; updated: number }>(
      "SELECT * FROM people_upsert_records($1::jsonb)",
      [JSON.stringify(rows.slice(from, from + UPSERT_SLICE))],
    );
    total.inserted += r[0]!.inserted;
    total.updated += r[0]!.updated;
  }
  return total;
}
const UPSERT_SLICE = 20_000;
/** Values per array parameter: a first import of a million people has 23 million keys, more than one JavaScript string holds as text. */
const PARAMETER_SLICE = 1_000_000;

interface StoredRecord {
  record_id: number;
  person_id: number | null;
  first_name: string | null;
  last_name: string | null;
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
  "r.record_id, r.person_id, r.first_name, r.last_name, r.email, r.phone, r.phone7, r.dob, r.zip5, r.city, r.house_number, r.street_name, r.ids";

const profileOfRow = (r: StoredRecord): MatchProfile =>
  profileOf({
    first: r.first_name,
    last: r.last_name,
    email: r.email,
    phone: r.phone,
    phone7: r.phone7,
    dob: r.dob,
    zip5: r.zip5,
    city: r.city,
    houseNumber: r.house_number,
    streetName: r.street_name,
    ids: r.ids,
  });

/**
 * The resolved population's counts of the values a batch will ask about (and every total). The
 * first resolution after person_value_counts was added counts the records resolved before it.
 */
async function loadFrequencies(client: PoolClient, keys: string[]): Promise<Frequencies> {
  const wanted = [...new Set(keys)];
  const { rows } = await client.query<{ key: string; n: string }>(
    "SELECT key, n FROM person_value_counts WHERE key = ANY ($1) OR key IN ('#', '#f', '#g', '#l', '#d', '#z')",
    [wanted],
  );
  const frequencies = new Frequencies();
  frequencies.load(rows.map((r) => [r.key, Number(r.n)] as const));
  return frequencies;
}

/** Seeds person_value_counts from the records resolved before it existed (their value keys are not in person_keys). */
async function countResolvedRecords(client: PoolClient): Promise<void> {
  const counts = new Frequencies();
  const resolved = "FROM person_records WHERE resolved_at IS NOT NULL";
  for (const [column, field] of [
    ["first_name", "first"],
    ["last_name", "last"],
    ["dob", "dob"],
    ["zip5", "zip5"],
  ] as const) {
    const { rows } = await client.query<{ v: string; n: string }>(
      `SELECT ${column}::text AS v, count(*) AS n ${resolved} AND ${column} IS NOT NULL GROUP BY 1`,
    );
    for (const r of rows) {
      const p = profileOf({
        first: null,
        last: null,
        email: null,
        phone: null,
        phone7: null,
        dob: null,
        zip5: null,
        houseNumber: null,
        streetName: null,
        ids: [],
        [field]: r.v,
      });
      for (const key of frequencyKeys(p)) counts.add(key, Number(r.n));
    }
  }
  const total = Number((await client.query<{ n: string }>(`SELECT count(*) AS n ${resolved}`)).rows[0]!.n);
  const rows = [...counts.entries(), ["#", total] as const];
  await client.query(
    "INSERT INTO person_value_counts (key, n) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT (key) DO UPDATE SET n = excluded.n",
    [rows.map((r) => r[0]), rows.map((r) => r[1])],
  );
}

export interface Resolution {
  import_id: string;
  records: number;
  created: number;
  attached: number;
  merged: number;
  links: number;
  duration_ms: number;
}

/** Where an import's people come from, by target kind: upserts its records into person_records (inside the resolution's transaction). */
export type Feeder = (client: PoolClient, importId: string) => Promise<void>;

/** Records resolved per batch: the matcher, the candidates and the keys of one batch are what the consumer holds in memory. */
export const RESOLVE_BATCH = 50_000;

/**
 * Matches an import's unresolved person records against the golden records and each other,
 * under a transaction-level advisory lock: each record joins the golden record it links to
 * (creating one when none), links are stored with score and reason, golden records a record
 * bridges are merged (reversibly), and survivorship runs for every golden record touched. A
 * replay finds the import resolved and returns the same counts.
 *
 * The records are resolved in batches of `batchSize` in record order, each against the golden
 * records as the batches before it left them, so memory is bounded by the batch, not the list
 * (an import within one batch resolves exactly as in one pass).
 */
export async function resolveImport(
  deps: { pool: Pool; log?: Logger },
  importId: string,
  feeder?: Feeder,
  options: { maxBlock?: number; batchSize?: number } = {},
): Promise<Resolution> {
  const started = Date.now();
  const maxBlock = options.maxBlock ?? 200;
  const batchSize = options.batchSize ?? RESOLVE_BATCH;
  const result = await withTransaction(deps.pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [PEOPLE_LOCK.toString()]);
    const done = await client.query<Resolution>(
      "SELECT import_id, records, created, attached, merged, links, duration_ms FROM people_resolutions WHERE import_id = $1",
      [importId],
    );
    if (done.rows[0]) return done.rows[0];
    if (feeder) await feeder(client, importId);
    await countImport(client, importId, batchSize);

    const total = { records: 0, merged: 0, links: 0, fresh: new Set<number>(), touched: new Set<number>() };
    for (let batch = 1; ; batch++) {
      const pending = (
        await client.query<StoredRecord>(
          `SELECT ${RECORD_COLUMNS} FROM person_records r WHERE r.import_id = $1 AND r.resolved_at IS NULL ORDER BY r.record_id LIMIT $2`,
          [importId, batchSize],
        )
      ).rows;
      if (pending.length === 0) break;
      const b = await resolveBatch(client, importId, pending, maxBlock);
      total.records += pending.length;
      total.merged += b.merged;
      total.links += b.links;
      for (const p of b.fresh) total.fresh.add(p);
      for (const p of b.touched) total.touched.add(p);
      if (pending.length < batchSize) break;
      deps.log?.info("people batch resolved", { importId, batch, records: total.records });
    }
    const r: Resolution = {
      import_id: importId,
      records: total.records,
      created: total.fresh.size,
      attached: [...total.touched].filter((p) => !total.fresh.has(p)).length,
      merged: total.merged,
      links: total.links,
      duration_ms: Date.now() - started,
    };
    await client.query(
      "INSERT INTO people_resolutions (import_id, records, created, attached, merged, links, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      [importId, r.records, r.created, r.attached, r.merged, r.links, r.duration_ms],
    );
    return r;
  });
  deps.log?.info("people resolved", { importId, ...result });
  return result;
}

/**
 * Counts the import's pending records into person_value_counts before its first batch is matched (a
 * re-queued record's old values taken away first), so every batch is matched with the same counts: the
 * whole import's, as one pass would be, whatever the batch size.
 */
async function countImport(client: PoolClient, importId: string, pageSize: number): Promise<void> {
  const seeded = await client.query("SELECT 1 FROM person_value_counts WHERE key = '#'");
  if (seeded.rowCount === 0) await countResolvedRecords(client);
  const deltas = new Frequencies();
  let total = 0;
  for (let after = 0; ; ) {
    const page = (
      await client.query<StoredRecord>(
        `SELECT ${RECORD_COLUMNS} FROM person_records r
          WHERE r.import_id = $1 AND r.resolved_at IS NULL AND r.record_id > $2 ORDER BY r.record_id LIMIT $3`,
        [importId, after, pageSize],
      )
    ).rows;
    if (page.length === 0) break;
    after = page.at(-1)!.record_id;
    // Only a record resolved before (it keeps its golden record) has counted values.
    const requeued = page.filter((p) => p.person_id !== null).map((p) => p.record_id);
    const counted =
      requeued.length === 0
        ? []
        : (
            await client.query<{ record_id: number; key: string }>(
              "SELECT record_id, key FROM person_keys WHERE record_id = ANY ($1) AND key LIKE '#%'",
              [requeued],
            )
          ).rows;
    for (const r of counted) deltas.add(r.key, -1);
    total += page.length - new Set(counted.map((r) => r.record_id)).size;
    for (const p of page) for (const key of frequencyKeys(profileOfRow(p))) deltas.add(key, 1);
    if (page.length < pageSize) break;
  }
  deltas.load([["#", total]]);
  const changed = [...deltas.entries()].filter(([, n]) => n !== 0);
  if (changed.length === 0) return;
  await client.query(
    `INSERT INTO person_value_counts (key, n) SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (key) DO UPDATE SET n = person_value_counts.n + excluded.n`,
    [changed.map((d) => d[0]), changed.map((d) => d[1])],
  );
}

/** One batch of an import's pending records: matched, assigned, linked, keyed, merged and survived. */
async function resolveBatch(
  client: PoolClient,
  importId: string,
  pending: StoredRecord[],
  maxBlock: number,
): Promise<{ fresh: number[]; touched: number[]; merged: number; links: number }> {
  const pendingProfiles = pending.map(profileOfRow);
  const pendingBlockKeys = pendingProfiles.map(blockKeys);
  const keys = [...new Set(pendingBlockKeys.flat())];
  // Earlier records sharing a key, at most maxBlock per key (the huge-block guard). Their ids are
  // gathered first: records are then fetched by primary key whatever the planner guesses a
  // block holds (joined directly, it guessed millions and sorted every record).
  const found = new Map<number, StoredRecord>();
  for (let from = 0; from < keys.length; from += PARAMETER_SLICE) {
    const { rows } = await client.query<StoredRecord>(
      `SELECT ${RECORD_COLUMNS} FROM person_records r
        WHERE r.record_id = ANY (ARRAY(
                SELECT k.record_id FROM (SELECT key FROM unnest($1::text[]) AS u(key) ORDER BY 1) AS q
                 CROSS JOIN LATERAL (SELECT k.record_id FROM person_keys k WHERE k.key = q.key ORDER BY k.record_id LIMIT $2) k))
          AND r.resolved_at IS NOT NULL`,
      [keys.slice(from, from + PARAMETER_SLICE), maxBlock],
    );
    for (const r of rows) found.set(r.record_id, r); // slices can share records: each once
  }
  const candidates = [...found.values()].sort((a, b) => a.record_id - b.record_id);
  const candidateProfiles = candidates.map(profileOfRow);
  const ids = [...candidates.map((c) => c.record_id), ...pending.map((p) => p.record_id)];
  const noLinks = (
    await client.query<{ record_id: number; other_record_id: number }>(
      "SELECT record_id, other_record_id FROM person_no_links WHERE record_id = ANY ($1) OR other_record_id = ANY ($1)",
      [ids],
    )
  ).rows;
  const forbidden = new Set(
    noLinks.flatMap((n) => [`${n.record_id}:${n.other_record_id}`, `${n.other_record_id}:${n.record_id}`]),
  );

  // How common names are: the population's counts, this whole import included (counted before its first batch).
  const requeued = pending.filter((p) => p.person_id !== null).map((p) => p.record_id);
  const frequencies = await loadFrequencies(client, [
    ...pendingProfiles.flatMap(frequencyKeys),
    ...candidateProfiles.flatMap(frequencyKeys),
  ]);

  const matcher = new Matcher({ maxBlock, veto: (a, b) => forbidden.has(`${ids[a]}:${ids[b]}`), frequencies });
  const personAt: (number | null)[] = [];
  const firstOfPerson = new Map<number, number>();
  const place = (r: StoredRecord, profile: MatchProfile, compare: boolean): Link[] => {
    const { index, links } = matcher.add(profile, compare);
    personAt[index] = r.person_id;
    if (r.person_id !== null) {
      const first = firstOfPerson.get(r.person_id);
      if (first === undefined) firstOfPerson.set(r.person_id, index);
      else matcher.union(first, index);
    }
    return links;
  };
  candidates.forEach((c, i) => place(c, candidateProfiles[i]!, false));
  const links = pending.flatMap((p, i) => place(p, pendingProfiles[i]!, true));

  // Each component with a pending record: its golden records (survivor = the oldest) or a new one.
  const members = new Map<number, number[]>();
  for (let i = 0; i < matcher.size; i++) {
    const root = matcher.find(i);
    const list = members.get(root);
    if (list) list.push(i);
    else members.set(root, [i]);
  }
  const pendingStart = candidates.length;
  const groups = [...new Set(pending.map((_p, i) => matcher.find(pendingStart + i)))];
  const needNew = groups.filter((g) => members.get(g)!.every((i) => personAt[i] === null));
  const fresh =
    needNew.length === 0
      ? []
      : (
          await client.query<{ person_id: number }>(
            "INSERT INTO persons (person_id) SELECT nextval('persons_person_id_seq') FROM generate_series(1, $1::int) ORDER BY 1 RETURNING person_id",
            [needNew.length],
          )
        ).rows
          .map((r) => Number(r.person_id))
          .sort((a, b) => a - b);
  const personOfGroup = new Map<number, number>(needNew.map((g, k) => [g, fresh[k]!]));
  const merges: { survivor: number; absorbed: number }[] = [];
  for (const g of groups) {
    if (personOfGroup.has(g)) continue;
    const persons = [
      ...new Set(
        members
          .get(g)!
          .map((i) => personAt[i])
          .filter((p): p is number => p !== null),
      ),
    ].sort((a, b) => a - b);
    personOfGroup.set(g, persons[0]!);
    for (const absorbed of persons.slice(1)) merges.push({ survivor: persons[0]!, absorbed });
  }

  const assign = pending.map((p, i) => ({
    record_id: p.record_id,
    person_id: personOfGroup.get(matcher.find(pendingStart + i))!,
    before: p.person_id,
  }));
  // record_id = ANY: found by primary key, not by hashing every record.
  await client.query(
    `UPDATE person_records r SET person_id = a.person_id, resolved_at = now()
       FROM unnest($1::bigint[], $2::bigint[]) AS a(record_id, person_id) WHERE r.record_id = a.record_id AND r.record_id = ANY ($1)`,
    [assign.map((a) => a.record_id), assign.map((a) => a.person_id)],
  );
  const linkRows = links.map((l) => ({
    record_id: ids[l.from]!,
    matched_record_id: ids[l.to]!,
    score: l.score,
    tier: l.tier,
    reason: l.reason,
  }));
  // COPY, then one insert: a million links as one jsonb parameter nears jsonb's 256 MB limit.
  // Once per transaction (the batches of an import share it), emptied for each batch.
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS resolved_links
    (record_id bigint, matched_record_id bigint, score numeric, tier text, reason text) ON COMMIT DROP`);
  await client.query("TRUNCATE resolved_links");
  await copyRows(
    client,
    "resolved_links",
    ["record_id", "matched_record_id", "score", "tier", "reason"],
    linkRows.map((l) => [l.record_id, l.matched_record_id, l.score, l.tier, l.reason]),
  );
  await client.query(
    `INSERT INTO person_links (record_id, matched_record_id, score, tier, reason, import_id)
     SELECT record_id, matched_record_id, score, tier, reason, $1 FROM resolved_links ON CONFLICT DO NOTHING`,
    [importId],
  );
  // Only a record resolved before has keys (person_keys has no index by record: this reads the whole table).
  if (requeued.length > 0) await client.query("DELETE FROM person_keys WHERE record_id = ANY ($1)", [requeued]);
  // Each record's keys once: the record has no keys left (deleted above, or never resolved), so a plain insert, in key
  // order (each index page visited once, not once per record; the sort in memory, by bytes: the order only has to be
  // close to the index's).
  const keyRows = pending.flatMap((p, i) =>
    [...new Set([...pendingBlockKeys[i]!, ...frequencyKeys(pendingProfiles[i]!)])].map(
      (k) => [k, p.record_id] as const,
    ),
  );
  await client.query("SELECT set_config('work_mem', '128MB', true)");
  for (let from = 0; from < keyRows.length; from += PARAMETER_SLICE) {
    const slice = keyRows.slice(from, from + PARAMETER_SLICE);
    await client.query(
      `INSERT INTO person_keys (key, record_id) SELECT * FROM unnest($1::text[], $2::bigint[]) AS k(key, record_id) ORDER BY key COLLATE "C", record_id`,
      [slice.map((k) => k[0]), slice.map((k) => k[1])],
    );
  }
  // The audit of what this import did to each golden record it touched.
  const freshSet = new Set(fresh);
  const touched = new Map<number, number[]>();
  for (const a of assign) touched.set(a.person_id, [...(touched.get(a.person_id) ?? []), a.record_id]);
  await client.query(
    `INSERT INTO merge_audit (person_id, action, import_id, detail)
     SELECT person_id, action, $1, jsonb_build_object('records', records) FROM jsonb_to_recordset($2::jsonb) AS x(person_id bigint, action text, records jsonb)`,
    [
      importId,
      JSON.stringify(
        [...touched].map(([person_id, records]) => ({
          person_id,
          action: freshSet.has(person_id) ? "create" : "attach",
          records,
        })),
      ),
    ],
  );
  for (const m of merges) {
    const absorbedRecords = new Set(
      members
        .get(matcher.find(firstOfPerson.get(m.absorbed)!))!
        .filter((i) => personAt[i] === m.absorbed)
        .map((i) => ids[i]),
    );
    const bridging = linkRows.filter(
      (l) => absorbedRecords.has(l.record_id) || absorbedRecords.has(l.matched_record_id),
    );
    await client.query("SELECT people_merge($1, $2, 'match', $3::jsonb, $4)", [
      m.survivor,
      m.absorbed,
      JSON.stringify(bridging),
      importId,
    ]);
  }
  await client.query("SELECT people_survive($1::bigint[], $2)", [[...touched.keys()], importId]);
  return { fresh, touched: [...touched.keys()], merged: merges.length, links: linkRows.length };
}
