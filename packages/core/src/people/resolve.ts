import type { PoolClient, Queryable } from "../db";
import { withTransaction } from "../db";
import type { Needs } from "../ports";
import {
  ANCHOR_GROUP_LIMIT,
  ANCHOR_KEYS,
  type AnchorKind,
  AnchorTally,
  anchorMember,
  Frequencies,
  frequencyKeys,
} from "./frequencies";
import { blockKeySides, keyText, profileOf, type Link, type MatchProfile } from "./match";
import { Matcher } from "./matcher";
import type { PersonRecord } from "./record";
import * as Store from "./store";
import type { PendingRecord, Resolution, StoredRecord } from "./store";
import { survive } from "./survive";

export { PEOPLE_LOCK, type Resolution } from "./store";

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

const profileOfRow = (r: StoredRecord): MatchProfile =>
  profileOf({
    first: r.first_name,
    middle: r.middle_name,
    last: r.last_name,
    suffix: r.name_suffix,
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

/** Seeds person_value_counts from the records resolved before it existed (they have no counted_keys). */
async function countResolvedRecords(client: PoolClient): Promise<void> {
  const counts = new Frequencies();
  for (const [column, field] of [
    ["first_name", "first"],
    ["last_name", "last"],
    ["dob", "dob"],
    ["zip5", "zip5"],
  ] as const) {
    for (const r of await Store.resolvedValues(client, column)) {
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
  await Store.setValueCounts(client, [...counts.entries(), ["#", await Store.resolvedCount(client)] as const]);
}

/** Where an import's people come from, by target kind: upserts its records into person_records (inside the resolution's transaction). */
export type Feeder = (client: PoolClient, importId: string) => Promise<void>;

/** Records resolved per batch: the matcher, the candidates and the keys of one batch are what the consumer holds in memory. */
export const RESOLVE_BATCH = 50_000;
/**
 * The most candidates a batch holds (each ~0.4 KB in the matcher): a batch whose records would bring more resolves
 * only as many of them, in record order, as bring fewer (one record at least: its own are at most 200 a key). What
 * bounds a resolution's memory whatever the population: a batch's candidates grow with it (every resolved record
 * indexed under a key the batch looks up, up to 200 a key), to the whole population at a few million.
 */
export const MAX_CANDIDATES = 1_000_000;

/**
 * Matches an import's unresolved person records against the golden records and each other,
 * under a transaction-level advisory lock: each record joins the golden record it links to
 * (creating one when none), links are stored with score and reason, golden records a record
 * bridges are merged (reversibly), and survivorship runs for every golden record touched (one
 * it creates is written once, with its surviving values: survive.ts). A replay finds the import
 * resolved and returns the same counts.
 *
 * The steps, each batch its own transaction under the lock (a big list holds up a later small import
 * for one batch at most): return the recorded resolution of a replay; feed (the import's records into
 * person_records) and count (the whole import's values, so every batch matches with the same
 * frequencies), once, with the first batch; resolve the next `batchSize` unresolved records in record
 * order against the golden records as the batches before left them; record the resolution with the
 * last batch. people_resolution_progress says what the committed batches did: after a crash at any
 * point the next call resumes from the records still unresolved, to the same golden records (which do
 * not depend on the batch size either). Memory is bounded by the batch and its candidates (at most 200 resolved
 * records per blocking key of the batch, read a page at a time; at most `maxCandidates`, the batch resolving fewer of
 * its records if need be). Its SQL is in store.ts;
 * `afterBatch` is called after each committed batch but the last.
 */
export async function resolveImport(
  deps: Needs<"pool"> & Partial<Needs<"log">>,
  importId: string,
  feeder?: Feeder,
  options: ResolveOptions = {},
): Promise<Resolution> {
  return (await resolveImportUntil(deps, importId, feeder, options)) as Resolution;
}

export interface ResolveOptions {
  maxBlock?: number;
  batchSize?: number;
  /** A batch whose candidates would pass this many resolves fewer of its records (default MAX_CANDIDATES). */
  maxCandidates?: number;
  afterBatch?: (batch: number) => void | Promise<void>;
}

/** An import whose resolution stopped between two batches (resolveImportUntil): what its committed batches did. */
export interface PausedResolution {
  import_id: string;
  paused: true;
  batches: number;
  records: number;
  /** The import's records still unresolved. */
  pending: number;
}

/**
 * resolveImport that stops between two batches once `stop()` says so (a Lambda whose time runs short): the batches
 * committed so far stay, and the next call resumes with the records still unresolved.
 */
export async function resolveImportUntil(
  deps: Needs<"pool"> & Partial<Needs<"log">>,
  importId: string,
  feeder: Feeder | undefined,
  options: ResolveOptions & { stop?: () => boolean },
): Promise<Resolution | PausedResolution> {
  const maxBlock = options.maxBlock ?? 200;
  const batchSize = options.batchSize ?? RESOLVE_BATCH;
  const maxCandidates = options.maxCandidates ?? MAX_CANDIDATES;
  /** One transaction under the people lock: the next batch (fed and counted first, once), and the record when it was the last. */
  const step = (first: boolean) =>
    withTransaction(deps.pool, async (client) => {
      await Store.lockPeople(client);
      const done = await Store.recordedResolution(client, importId);
      if (done) return { done, batch: 0, records: 0, candidates: 0 };
      // The count's first page is this batch (the same query in the same transaction): read and profiled once.
      let counted: Page | undefined;
      if (first && !(await Store.progressOf(client, importId))) {
        if (feeder) await feeder(client, importId);
        counted = await countImport(client, importId, batchSize);
        await Store.startProgress(client, importId);
      }
      const pending = counted?.records ?? (await Store.pendingRecords(client, importId, 0, batchSize));
      let resolved = 0,
        candidates = 0;
      if (pending.length > 0) {
        const b = await resolveBatch(
          client,
          importId,
          pending,
          counted?.profiles ?? pending.map(profileOfRow),
          maxBlock,
          maxCandidates,
        );
        resolved = b.resolved;
        candidates = b.candidates;
        await Store.addProgress(client, importId, { records: resolved, merged: b.merged, links: b.links });
      }
      const progress = (await Store.progressOf(client, importId))!;
      if (pending.length === batchSize || resolved < pending.length)
        return { done: undefined, batch: progress.batches, records: resolved, candidates };
      const r: Resolution = {
        import_id: importId,
        records: progress.records,
        ...(await Store.touchedBy(client, importId)),
        merged: progress.merged,
        links: progress.links,
        duration_ms: Date.now() - progress.started_at.getTime(),
      };
      await Store.recordResolution(client, r);
      await Store.endProgress(client, importId);
      return { done: r, batch: progress.batches, records: resolved, candidates };
    });
  for (let first = true; ; first = false) {
    const { done, batch, records, candidates } = await step(first);
    if (done) {
      deps.log?.info("people resolved", { importId, ...done });
      return done;
    }
    // Its records and candidates: a batch that resolved fewer records than the batch size met the candidates' bound.
    deps.log?.info("people batch resolved", { importId, batch, records, candidates });
    await options.afterBatch?.(batch);
    if (options.stop?.()) {
      const paused = await withTransaction(deps.pool, async (client): Promise<PausedResolution> => {
        const { batches, records } = (await Store.progressOf(client, importId))!;
        return {
          import_id: importId,
          paused: true,
          batches,
          records,
          pending: await Store.pendingCount(client, importId),
        };
      });
      deps.log?.info("people resolution paused", { ...paused, importId });
      return paused;
    }
  }
}

/** Pending records in record order, with their match profiles. */
interface Page {
  records: PendingRecord[];
  profiles: MatchProfile[];
}

/**
 * Counts the import's pending records into person_value_counts before its first batch is matched (a
 * re-queued record's old values taken away first), so every batch is matched with the same counts: the
 * whole import's, as one pass would be, whatever the batch size. Their anchored pairs too (countAnchors):
 * the anchored totals are always those of the current values of every record counted so far. Returns the
 * first page (`pageSize` records from the start): the first batch.
 */
async function countImport(client: PoolClient, importId: string, pageSize: number): Promise<Page> {
  if (!(await Store.valueCountsSeeded(client))) await countResolvedRecords(client);
  if (!(await Store.anchorsSeeded(client))) await seedAnchors(client, pageSize);
  if (!(await Store.regionsSeeded(client))) await Store.seedRegions(client);
  const deltas = new Frequencies();
  const anchors = new AnchorGroups();
  let total = 0;
  let first: Page | undefined;
  for (let after = 0; ; ) {
    const page = await Store.pendingRecords(client, importId, after, pageSize);
    const profiles = page.map(profileOfRow);
    first ??= { records: page, profiles };
    if (page.length === 0) break;
    after = page.at(-1)!.record_id;
    // Only a record resolved before (it keeps its golden record) has counted values.
    const counted = await Store.countedValueKeys(
      client,
      page.filter((p) => p.person_id !== null).map((p) => p.record_id),
    );
    for (const r of counted) deltas.add(r.key, -1);
    total += page.length - new Set(counted.map((r) => r.record_id)).size;
    for (const p of profiles) for (const key of frequencyKeys(p)) deltas.add(key, 1);
    await anchors.replace(
      client,
      page.map((r) => r.record_id),
      page.flatMap((r, i) => anchorRows(r.record_id, profiles[i]!)),
    );
    if (page.length < pageSize) break;
  }
  deltas.load([["#", total]]);
  deltas.load(await anchors.delta(client));
  await Store.addValueCounts(
    client,
    [...deltas.entries()].filter(([, n]) => n !== 0),
  );
  return first!;
}

const ANCHOR_SAMPLER = new Frequencies();
/** A record's memberships of the anchoring groups (Frequencies.anchoring): by its sampled e-mail, by its sampled phone. */
function anchorRows(recordId: number, p: MatchProfile): Store.AnchorMemberRow[] {
  const { email, phone } = ANCHOR_SAMPLER.anchoring(p);
  if (email === null && phone === null) return [];
  const m = anchorMember(p);
  const row = {
    record_id: recordId,
    formal: m.formal,
    last_name: m.last,
    dob: m.dob,
    zip5: m.zip5,
    phone7: m.phone7,
    email: m.email,
  };
  return [
    ...(email !== null ? [{ group_key: keyText("e", email), ...row }] : []),
    ...(phone !== null ? [{ group_key: keyText("p", phone), ...row }] : []),
  ];
}

const kindOfGroup = (groupKey: string): AnchorKind => (groupKey.startsWith("e:") ? "email" : "phone");

/** The anchored pairs of groups of members as stored (Store.anchorMembers), added `by` times to `tally`. */
function tallyMembers(tally: AnchorTally, members: readonly Store.AnchorMemberRow[], by: number): void {
  for (let from = 0; from < members.length; ) {
    const key = members[from]!.group_key;
    let to = from;
    while (to < members.length && members[to]!.group_key === key) to++;
    tally.add(
      kindOfGroup(key),
      members.slice(from, to).map((r) => ({
        formal: r.formal,
        last: r.last_name,
        dob: r.dob,
        zip5: r.zip5,
        phone7: r.phone7,
        email: r.email,
      })),
      by,
    );
    from = to;
  }
}

/**
 * The anchoring groups an import's count changes: each group's pairs as they were are taken away the first time one of
 * its members is replaced, and its pairs as they end are added (delta): the totals stay a function of the members.
 */
class AnchorGroups {
  private readonly touched = new Set<string>();
  private readonly tally = new AnchorTally();

  /** Replaces these records' memberships with `rows`. */
  async replace(client: PoolClient, recordIds: number[], rows: Store.AnchorMemberRow[]): Promise<void> {
    const groups = new Set([...(await Store.anchorGroupsOf(client, recordIds)), ...rows.map((r) => r.group_key)]);
    const before = [...groups].filter((g) => !this.touched.has(g));
    for (const g of before) this.touched.add(g);
    tallyMembers(this.tally, await Store.anchorMembers(client, before, ANCHOR_GROUP_LIMIT + 1), -1);
    await Store.replaceAnchorMembers(client, recordIds, rows);
  }

  /** What the replacements changed in the anchored totals. */
  async delta(client: PoolClient): Promise<[string, number][]> {
    tallyMembers(this.tally, await Store.anchorMembers(client, [...this.touched], ANCHOR_GROUP_LIMIT + 1), 1);
    return this.tally.entries();
  }
}

/**
 * Seeds person_anchor_members from every counted record (a population resolved before it existed, or whose counts were
 * lost) and sets the anchored totals to theirs. The records of imports not counted yet (this one among them) join
 * with their import's count.
 */
async function seedAnchors(client: PoolClient, pageSize: number): Promise<void> {
  await Store.clearAnchorMembers(client);
  for (let after = 0; ; ) {
    const page = await Store.anchorableRecords(client, after, pageSize);
    if (page.length === 0) break;
    after = page.at(-1)!.record_id;
    await Store.replaceAnchorMembers(
      client,
      [],
      page.flatMap((r) => anchorRows(r.record_id, profileOfRow(r))),
    );
    if (page.length < pageSize) break;
  }
  // Page by page in group order, a page's last group carried on to the next (memory bounded by a page and the limit).
  const tally = new AnchorTally();
  let open: Store.AnchorMemberRow[] = [];
  for (let after: Store.AnchorMemberRow | undefined; ; ) {
    const page = await Store.anchorMembersAfter(client, after, pageSize);
    const rows = [...open, ...page];
    if (page.length < pageSize) {
      tallyMembers(tally, rows, 1);
      break;
    }
    after = page.at(-1)!;
    const cut = rows.findIndex((r) => r.group_key === after!.group_key);
    tallyMembers(tally, rows.slice(0, cut), 1);
    // A group past the limit anchors nothing: one member more than the limit says so.
    open = rows.slice(cut, cut + ANCHOR_GROUP_LIMIT + 1);
  }
  await Store.deleteValueCounts(client, ANCHOR_KEYS);
  await Store.setValueCounts(client, [...tally.entries(), [Store.ANCHORS_SEEDED, 1]]);
}

/**
 * One batch of an import's pending records: matched, assigned, linked, keyed, merged and survived. When its candidates
 * would pass `maxCandidates`, only its first records are (as many as bring fewer, one at least): `resolved` says how many.
 */
async function resolveBatch(
  client: PoolClient,
  importId: string,
  batch: PendingRecord[],
  batchProfiles: MatchProfile[],
  maxBlock: number,
  maxCandidates: number,
): Promise<{
  fresh: number[];
  touched: number[];
  merged: number;
  links: number;
  resolved: number;
  candidates: number;
}> {
  const sides = batchProfiles.map(blockKeySides);
  const candidatesOf = (n: number) =>
    Store.candidateIds(client, [...new Set(sides.slice(0, n).flatMap((s) => s.probe))], maxBlock);
  // The candidates (every resolved record indexed under a key the batch probes: up to maxBlock a key) go into the
  // matcher a page at a time, in record order, as they are read: the matcher's rows are all this holds of them (their
  // records and profiles are garbage once added). They can be most of the population, so their cost per record is what
  // counts, and their number is bounded: too many, and fewer records (candidates grow slower than records: shared).
  let take = batch.length;
  let candidateIds = await candidatesOf(take);
  if (candidateIds.length > maxCandidates && take > 1) {
    // The longest prefix within the bound (to 1/16), by bisection: a prefix's candidates only grow with it, so at most
    // ~16 counts (a guess in proportion took thousands when the first records brought most of the candidates).
    let lo = 0,
      hi = take,
      within: number[] = [];
    while (hi - lo > 1 && !(lo > 0 && hi - lo <= lo >> 4)) {
      const mid = (lo + hi) >>> 1;
      const ids = await candidatesOf(mid);
      if (ids.length <= maxCandidates) [lo, within] = [mid, ids];
      else hi = mid;
    }
    // None within: the first record alone (its own candidates are at most maxBlock a key).
    take = Math.max(lo, 1);
    candidateIds = lo > 0 ? within : await candidatesOf(1);
  }
  const pending = batch.slice(0, take);
  const pendingProfiles = batchProfiles.slice(0, take);
  const pendingStart = candidateIds.length;
  const ids = [...candidateIds, ...pending.map((p) => p.record_id)];
  const forbidden = await Store.forbiddenPairs(client, ids);
  // The veto builds a key per compared pair: asked only when a steward split some of these records.
  const veto = forbidden.size > 0 ? (a: number, b: number) => forbidden.has(`${ids[a]}:${ids[b]}`) : undefined;
  // How common names are: the population's counts, this whole import included (counted before its first batch). The
  // matcher reads them only when it compares (the pending records, added after they are loaded below).
  const frequencies = new Frequencies();
  const matcher = new Matcher({ maxBlock, ...(veto ? { veto } : {}), frequencies });
  const personAt: (number | null)[] = [];
  const firstOfPerson = new Map<number, number>();
  const place = (personId: number | null, profile: MatchProfile, compare: boolean): Link[] => {
    const { index, links } = matcher.add(profile, compare);
    personAt[index] = personId;
    if (personId !== null) {
      const first = firstOfPerson.get(personId);
      if (first === undefined) firstOfPerson.set(personId, index);
      else matcher.union(first, index);
    }
    return links;
  };
  const valueKeys = new Set<string>(ANCHOR_KEYS);
  for await (const page of Store.candidatePages(client, candidateIds)) {
    for (const c of page) {
      const profile = profileOfRow(c);
      for (const key of frequencyKeys(profile)) valueKeys.add(key);
      place(c.person_id, profile, false);
    }
  }
  const requeued = pending.filter((p) => p.person_id !== null).map((p) => p.record_id);
  const pendingValueKeys = pendingProfiles.map(frequencyKeys);
  for (const keys of pendingValueKeys) for (const key of keys) valueKeys.add(key);
  frequencies.load(await Store.valueCounts(client, [...valueKeys]));
  const links = pending.flatMap((p, i) => place(p.person_id, pendingProfiles[i]!, true));

  // Each cluster with a pending record: its golden records (survivor = the oldest) or a new one. The clusters are the
  // matcher's (Matcher.clusters, as `leadpipe match` takes them): a golden record stays whole, and a record that links
  // to two whose dates of birth differ joins the one it links to more strongly instead of merging them.
  const cluster = matcher.clusters();
  const groups = [...new Set(pending.map((_p, i) => cluster[pendingStart + i]!))];
  // The members of those clusters only (a candidate in no cluster of the batch is left as it is).
  const members = new Map<number, number[]>(groups.map((g) => [g, []]));
  for (let i = 0; i < matcher.size; i++) members.get(cluster[i]!)?.push(i);
  const needNew = groups.filter((g) => members.get(g)!.every((i) => personAt[i] === null));
  const fresh = await Store.newPersonIds(client, needNew.length);
  const personOfGroup = new Map<number, number>(needNew.map((g, k) => [g, fresh[k]!]));
  // A new golden record's records are all in this batch: it is written once, with the values survivorship gives them.
  const freshOf = new Map<number, number>();
  pending.forEach((p, i) => {
    const person = personOfGroup.get(cluster[pendingStart + i]!);
    if (person !== undefined) freshOf.set(p.record_id, person);
  });
  const made = survive(fresh, pending, [], (p) => freshOf.get(p.record_id));
  await Store.createPersons(client, made);
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
    person_id: personOfGroup.get(cluster[pendingStart + i]!)!,
    counted: pendingValueKeys[i]!,
  }));
  await Store.assignRecords(client, assign);
  // Only the links the clusters kept: a link the cluster check refused joins no golden records, so none stores it.
  const linkRows = links
    .filter((l) => cluster[l.from] === cluster[l.to])
    .map((l) => ({
      record_id: ids[l.from]!,
      matched_record_id: ids[l.to]!,
      score: l.score,
      tier: l.tier,
      reason: l.reason,
    }));
  await Store.insertLinks(client, importId, linkRows);
  const keyRows = pending.flatMap((p, i) => [...new Set(sides[i]!.index)].map((k) => [k, p.record_id] as const));
  await Store.replaceKeys(client, requeued, keyRows);
  // The audit of what this import did to each golden record it touched.
  const freshSet = new Set(fresh);
  const touched = new Map<number, number[]>();
  for (const a of assign) touched.set(a.person_id, [...(touched.get(a.person_id) ?? []), a.record_id]);
  await Store.auditTouched(
    client,
    importId,
    [...touched].map(([person_id, records]) => ({
      person_id,
      action: freshSet.has(person_id) ? ("create" as const) : ("attach" as const),
      records,
    })),
  );
  for (const m of merges) {
    const absorbedRecords = new Set(
      members
        .get(cluster[firstOfPerson.get(m.absorbed)!]!)!
        .filter((i) => personAt[i] === m.absorbed)
        .map((i) => ids[i]),
    );
    const bridging = linkRows.filter(
      (l) => absorbedRecords.has(l.record_id) || absorbedRecords.has(l.matched_record_id),
    );
    await Store.mergePersons(client, m.survivor, m.absorbed, bridging, importId);
  }
  // Survivorship of the golden records that existed before (merged ones included), by the rule in SQL; then the audit
  // of those created (written with their values): their ids are higher, so the audit keeps golden-record order.
  await Store.survive(
    client,
    [...touched.keys()].filter((p) => !freshSet.has(p)),
    importId,
  );
  await Store.auditCreated(client, importId, made);
  return {
    fresh,
    touched: [...touched.keys()],
    merged: merges.length,
    links: linkRows.length,
    resolved: take,
    candidates: candidateIds.length,
  };
}
