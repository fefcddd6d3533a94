/**
 * Golden-record survivorship computed in this process: the same rules as people_survive in sql/functions/people.sql
 * (a manual override; else the value from the most recent source; among records of one import, the most complete
 * record; then a verified contact point; then the earliest record), the same contact points and the same audit
 * detail. resolveImport writes the golden records a batch creates with it, once, with their final values (their
 * records are all in the batch); people_survive stays the rule for every golden record that existed before and for
 * merges, unmerges, splits and overrides. test/integration/people-survive.test.ts runs both on the same records.
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
  /** src_seq >> 32 (its import) and its low 32 bits: the order of src_seq, as numbers. */
  seq_hi: number;
  seq_lo: number;
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

/** A record as the ranking reads it: its import (src_seq >> 32), its src_seq's low half, its completeness. */
interface Ranked {
  record: SurvivorRecord;
  completeness: number;
}

/** person_records.completeness: how many of the eight fields that make a record complete it holds. */
const completeness = (r: SurvivorRecord): number =>
  Number(r.first_name !== null) +
  Number(r.last_name !== null) +
  Number(r.middle_name !== null) +
  Number(r.email !== null) +
  Number(r.phone !== null) +
  Number(r.dob !== null) +
  Number(r.address_line1 !== null) +
  Number(r.zip5 !== null);

/** Whether `a` comes before `b` in people_survive's window order: import DESC, completeness DESC, verified first, record_id. */
const ranksBefore = (a: Ranked, av: boolean, b: Ranked, bv: boolean): boolean =>
  a.record.seq_hi !== b.record.seq_hi
    ? a.record.seq_hi > b.record.seq_hi
    : a.completeness !== b.completeness
      ? a.completeness > b.completeness
      : av !== bv
        ? av
        : a.record.record_id < b.record.record_id;

function ruleOf(first: Ranked, firstVerified: boolean, next: Ranked | undefined, nextVerified: boolean): Rule {
  if (next === undefined) return "only source";
  if (first.record.seq_hi > next.record.seq_hi) return "most recent source";
  if (first.completeness > next.completeness) return "most complete record";
  if (firstVerified && !nextVerified) return "verified contact point";
  return "earliest record";
}

/** Whether record `a` is later than `b` (src_seq DESC, then the lower record id): the record a contact point names. */
const later = (a: SurvivorRecord, b: SurvivorRecord): boolean =>
  a.seq_hi !== b.seq_hi ? a.seq_hi > b.seq_hi : a.seq_lo !== b.seq_lo ? a.seq_lo > b.seq_lo : a.record_id < b.record_id;

/** A record that may not have its golden record yet (a pending record of the batch). */
type Unassigned = Omit<SurvivorRecord, "person_id"> & { person_id: number | null };

/**
 * The golden records and contact points of `personIds` from all their records and overrides (records and overrides
 * of other golden records are ignored); `personOf` says whose a record is (its person_id unless told). Every person
 * gets a golden record, one with no records all NULL.
 */
export function survive(
  personIds: readonly number[],
  records: readonly Unassigned[],
  overrides: readonly Override[],
  personOf: (r: Unassigned) => number | undefined = (r) => r.person_id ?? undefined,
): Survivorship {
  const recordsOf = new Map<number, Ranked[]>(personIds.map((p) => [p, []]));
  for (const r of records) {
    const person = personOf(r);
    if (person !== undefined)
      recordsOf.get(person)?.push({ record: r as SurvivorRecord, completeness: completeness(r as SurvivorRecord) });
  }
  const overridesOf = new Map<number, Override[]>();
  for (const o of overrides) {
    if (!recordsOf.has(o.person_id)) continue;
    const list = overridesOf.get(o.person_id);
    if (list) list.push(o);
    else overridesOf.set(o.person_id, [o]);
  }
  const out: Survivorship = { golden: [], phones: [], emails: [], addresses: [] };
  for (const [personId, own] of recordsOf) {
    out.golden.push(goldenOf(personId, own, overridesOf.get(personId) ?? []));
    contactPoints(personId, own, out);
  }
  return out;
}

/** Every golden field NULL (written out: the object is made per golden record). */
export const noValues = (): Record<GoldenField, string | null> => ({
  first_name: null,
  middle_name: null,
  last_name: null,
  name_suffix: null,
  email: null,
  phone: null,
  dob: null,
  address_line1: null,
  city: null,
  state: null,
  zip5: null,
  zip4: null,
});

function goldenOf(personId: number, own: readonly Ranked[], overrides: readonly Override[]): GoldenRecord {
  const values = noValues();
  const detail: string[] = [];
  for (const group of GROUPS) {
    // The first two in the window order: the first gives the values, the second says by which rule.
    let first: Ranked | undefined;
    let firstVerified = false;
    let next: Ranked | undefined;
    let nextVerified = false;
    for (const r of own) {
      if (!group.offers(r.record)) continue;
      const verified = group.verified(r.record);
      if (first === undefined || ranksBefore(r, verified, first, firstVerified)) {
        next = first;
        nextVerified = firstVerified;
        first = r;
        firstVerified = verified;
      } else if (next === undefined || ranksBefore(r, verified, next, nextVerified)) {
        next = r;
        nextVerified = verified;
      }
    }
    if (first === undefined) continue;
    const rule = ruleOf(first, firstVerified, next, nextVerified);
    for (const field of group.fields) {
      if (overrides.some((o) => o.field === field)) continue;
      const value = first.record[field];
      values[field] = value;
      if (value !== null) detail.push(detailEntry(field, value, first.record.record_id, rule));
    }
  }
  for (const o of overrides) {
    values[o.field] = o.value;
    detail.push(detailEntry(o.field, o.value, null, "manual override"));
  }
  return { person_id: personId, values, detail: `{${detail.join(",")}}` };
}

/** One field of the audit detail: its value, the record it came from and the rule (fixed words, no escaping). */
const detailEntry = (
  field: GoldenField,
  value: string | null,
  recordId: number | null,
  rule: Rule | "manual override",
) => `"${field}":{"value":${value === null ? "null" : JSON.stringify(value)},"record_id":${recordId},"rule":"${rule}"}`;

/**
 * The person's phones, e-mails and addresses: one per distinct value, named by its latest record (then the lowest
 * id). A person has a handful of records: a scan of the points found so far, not a map per person.
 */
function contactPoints(personId: number, own: readonly Ranked[], out: Survivorship): void {
  const phones: Offered[] = [];
  const emails: Offered[] = [];
  const addresses: SurvivorRecord[] = [];
  for (const { record: r } of own) {
    if (r.phone !== null) offer(phones, personId, r, r.phone, r.phone_verified, r.raw_phone);
    if (r.email !== null) offer(emails, personId, r, r.email, r.email_verified, r.raw_email);
    if (r.address_line1 !== null) {
      const zip5 = r.zip5 ?? "";
      const at = addresses.findIndex((a) => a.address_line1 === r.address_line1 && (a.zip5 ?? "") === zip5);
      if (at < 0) addresses.push(r);
      else if (later(r, addresses[at]!)) addresses[at] = r;
    }
  }
  for (const p of phones) out.phones.push(p.point);
  for (const e of emails) out.emails.push(e.point);
  for (const r of addresses) {
    out.addresses.push({
      person_id: personId,
      address_line1: r.address_line1!,
      city: r.city,
      state: r.state,
      zip5: r.zip5 ?? "",
      zip4: r.zip4,
      record_id: r.record_id,
      last_seq: r.src_seq,
    });
  }
}

/** A phone or e-mail, and the record it names so far. */
interface Offered {
  point: PhoneOrEmail;
  from: SurvivorRecord;
}

/** A phone or e-mail of record `r`: the latest record holding it names it, any that is verified verifies it. */
function offer(
  points: Offered[],
  personId: number,
  r: SurvivorRecord,
  value: string,
  verified: boolean,
  raw: string | null,
): void {
  const known = points.find((p) => p.point.value === value);
  if (known === undefined) {
    points.push({
      point: { person_id: personId, value, verified, record_id: r.record_id, raw, last_seq: r.src_seq },
      from: r,
    });
    return;
  }
  known.point.verified ||= verified;
  if (later(r, known.from)) {
    known.point.record_id = r.record_id;
    known.point.raw = raw;
    known.point.last_seq = r.src_seq;
    known.from = r;
  }
}
