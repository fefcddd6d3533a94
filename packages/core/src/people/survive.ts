/**
 * Golden-record survivorship computed in this process, for the golden records a resolution batch touches: the same
 * rules as people_survive in sql/functions/people.sql (a manual override; else the value from the most recent source;
 * among records of one import, the most complete record; then a verified contact point; then the earliest record),
 * the same contact points and the same audit detail. people_survive stays the rule for merges, unmerges, splits and
 * overrides; test/integration/people-survive.test.ts runs both on the same records and compares every value.
 */

import type { StoredRecord } from "./store";

/** A golden record's fields, in persons' column order (each can be overridden: person_overrides.field). */
export const GOLDEN_FIELDS = [
  "first_name",
  "middle_name",
  "last_name",
  "name_suffix",
  "email",
  "phone",
  "dob",
  "address_line1",
  "city",
  "state",
  "zip5",
  "zip4",
] as const;
export type GoldenField = (typeof GOLDEN_FIELDS)[number];

/** A source record as survivorship reads it (dob as ISO text, src_seq as text: a bigint). */
export interface SurvivorRecord
  extends Pick<
    StoredRecord,
    | "record_id"
    | "first_name"
    | "middle_name"
    | "last_name"
    | "name_suffix"
    | "email"
    | "phone"
    | "dob"
    | "zip5"
    | "city"
  > {
  person_id: number;
  src_seq: string;
  address_line1: string | null;
  state: string | null;
  zip4: string | null;
  phone_verified: boolean;
  email_verified: boolean;
  /** raw->>'phone' and raw->>'email': the values as the source wrote them. */
  raw_phone: string | null;
  raw_email: string | null;
}

export interface Override {
  person_id: number;
  field: GoldenField;
  value: string | null;
}

export interface GoldenRecord {
  person_id: number;
  values: Record<GoldenField, string | null>;
  /** The 'survive' audit detail as JSON text: each field with a value (or overridden) and its record and rule. */
  detail: string;
}

export interface PhoneOrEmail {
  person_id: number;
  value: string;
  verified: boolean;
  record_id: number;
  raw: string | null;
  last_seq: string;
}

export interface Address {
  person_id: number;
  address_line1: string;
  city: string | null;
  state: string | null;
  zip5: string;
  zip4: string | null;
  record_id: number;
  last_seq: string;
}

export interface Survivorship {
  golden: GoldenRecord[];
  phones: PhoneOrEmail[];
  emails: PhoneOrEmail[];
  addresses: Address[];
}

type Rule =
  | "only source"
  | "most recent source"
  | "most complete record"
  | "verified contact point"
  | "earliest record";

/** The field groups that survive together, which records offer one, and whether the offer is verified. */
const GROUPS: readonly {
  fields: readonly GoldenField[];
  offers: (r: SurvivorRecord) => boolean;
  verified: (r: SurvivorRecord) => boolean;
}[] = [
  {
    fields: ["first_name", "middle_name", "last_name", "name_suffix"],
    offers: (r) => r.first_name !== null || r.last_name !== null,
    verified: () => false,
  },
  { fields: ["email"], offers: (r) => r.email !== null, verified: (r) => r.email_verified },
  { fields: ["phone"], offers: (r) => r.phone !== null, verified: (r) => r.phone_verified },
  { fields: ["dob"], offers: (r) => r.dob !== null, verified: () => false },
  {
    fields: ["address_line1", "city", "state", "zip5", "zip4"],
    offers: (r) => r.address_line1 !== null || r.zip5 !== null,
    verified: () => false,
  },
];

/** person_records.completeness: how many of the eight fields that make a record complete it holds. */
function completeness(r: SurvivorRecord): number {
  let n = 0;
  for (const v of [r.first_name, r.last_name, r.middle_name, r.email, r.phone, r.dob, r.address_line1, r.zip5]) {
    if (v !== null) n++;
  }
  return n;
}

interface Ranked {
  record: SurvivorRecord;
  importSeq: bigint;
  completeness: number;
  verified: boolean;
}

/** The window order of people_survive: import DESC, completeness DESC, verified first, record_id. */
const byRank = (a: Ranked, b: Ranked): number =>
  a.importSeq !== b.importSeq
    ? a.importSeq > b.importSeq
      ? -1
      : 1
    : b.completeness - a.completeness ||
      Number(b.verified) - Number(a.verified) ||
      a.record.record_id - b.record.record_id;

function ruleOf(first: Ranked, next: Ranked | undefined): Rule {
  if (next === undefined) return "only source";
  if (first.importSeq > next.importSeq) return "most recent source";
  if (first.completeness > next.completeness) return "most complete record";
  if (first.verified && !next.verified) return "verified contact point";
  return "earliest record";
}

const SEQ_SHIFT = 32n;

/**
 * The golden records and contact points of `personIds` from all their records and overrides (records and overrides
 * of other golden records are ignored). Every person gets a golden record, one with no records all NULL.
 */
export function survive(
  personIds: readonly number[],
  records: readonly SurvivorRecord[],
  overrides: readonly Override[],
): Survivorship {
  const recordsOf = new Map<number, SurvivorRecord[]>(personIds.map((p) => [p, []]));
  for (const r of records) recordsOf.get(r.person_id)?.push(r);
  const overridesOf = new Map<number, Override[]>();
  for (const o of overrides) {
    if (!recordsOf.has(o.person_id)) continue;
    const list = overridesOf.get(o.person_id);
    if (list) list.push(o);
    else overridesOf.set(o.person_id, [o]);
  }
  const out: Survivorship = { golden: [], phones: [], emails: [], addresses: [] };
  for (const [personId, own] of recordsOf) {
    const seqs = new Map(own.map((r) => [r, BigInt(r.src_seq)]));
    out.golden.push(goldenOf(personId, own, seqs, overridesOf.get(personId) ?? []));
    contactPoints(personId, own, seqs, out);
  }
  return out;
}

function goldenOf(
  personId: number,
  own: readonly SurvivorRecord[],
  seqs: ReadonlyMap<SurvivorRecord, bigint>,
  overrides: readonly Override[],
): GoldenRecord {
  const values = Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, null])) as Record<GoldenField, string | null>;
  const detail: string[] = [];
  const overridden = new Set(overrides.map((o) => o.field));
  for (const group of GROUPS) {
    const ranked: Ranked[] = [];
    for (const r of own) {
      if (!group.offers(r)) continue;
      ranked.push({
        record: r,
        importSeq: seqs.get(r)! >> SEQ_SHIFT,
        completeness: completeness(r),
        verified: group.verified(r),
      });
    }
    if (ranked.length === 0) continue;
    ranked.sort(byRank);
    const rule = ruleOf(ranked[0]!, ranked[1]);
    const chosen = ranked[0]!.record;
    for (const field of group.fields) {
      if (overridden.has(field)) continue;
      const value = chosen[field];
      values[field] = value;
      if (value !== null) detail.push(detailEntry(field, value, chosen.record_id, rule));
    }
  }
  for (const o of overrides) {
    values[o.field] = o.value;
    detail.push(detailEntry(o.field, o.value, null, "manual override"));
  }
  return { person_id: personId, values, detail: `{${detail.join(",")}}` };
}

const detailEntry = (field: GoldenField, value: string | null, recordId: number | null, rule: string): string =>
  `${JSON.stringify(field)}:${JSON.stringify({ value, record_id: recordId, rule })}`;

/** The persons' phones, e-mails and addresses: one per distinct value, from its latest record (then the lowest id). */
function contactPoints(
  personId: number,
  own: readonly SurvivorRecord[],
  seqs: ReadonlyMap<SurvivorRecord, bigint>,
  out: Survivorship,
): void {
  // Latest first, then by record id: the first record of a value is the one its contact point names.
  const latest = [...own].sort((a, b) => {
    const sa = seqs.get(a)!;
    const sb = seqs.get(b)!;
    return sa !== sb ? (sa > sb ? -1 : 1) : a.record_id - b.record_id;
  });
  const phones = new Map<string, PhoneOrEmail>();
  const emails = new Map<string, PhoneOrEmail>();
  const addresses = new Map<string, Address>();
  for (const r of latest) {
    if (r.phone !== null) offer(phones, personId, r, r.phone, r.phone_verified, r.raw_phone);
    if (r.email !== null) offer(emails, personId, r, r.email, r.email_verified, r.raw_email);
    if (r.address_line1 !== null) {
      const zip5 = r.zip5 ?? "";
      const key = `${r.address_line1}\u0000${zip5}`;
      if (!addresses.has(key))
        addresses.set(key, {
          person_id: personId,
          address_line1: r.address_line1,
          city: r.city,
          state: r.state,
          zip5,
          zip4: r.zip4,
          record_id: r.record_id,
          last_seq: r.src_seq,
        });
    }
  }
  out.phones.push(...phones.values());
  out.emails.push(...emails.values());
  out.addresses.push(...addresses.values());
}

/** A phone or e-mail of record `r` (records come latest first): the first names it, any verifies it. */
function offer(
  points: Map<string, PhoneOrEmail>,
  personId: number,
  r: SurvivorRecord,
  value: string,
  verified: boolean,
  raw: string | null,
): void {
  const known = points.get(value);
  if (known) known.verified ||= verified;
  else points.set(value, { person_id: personId, value, verified, record_id: r.record_id, raw, last_seq: r.src_seq });
}
