import { standardizeAddress } from "./address";
import { standardizeDob } from "./dob";
import { standardizeEmail } from "./email";
import { nameKey, standardizeName } from "./name";
import { formalName } from "./nicknames";
import { standardizePhone } from "./phone";

/** The fields a contact can carry, as raw text from any source. */
export const CONTACT_FIELDS = [
  "full_name",
  "prefix",
  "first_name",
  "middle_name",
  "last_name",
  "suffix",
  "email",
  "phone",
  "phone2",
  "street",
  "street2",
  "city",
  "state",
  "zip",
  "dob",
] as const;
export type ContactField = (typeof CONTACT_FIELDS)[number];
export type ContactInput = Partial<Record<ContactField, string | null>> & {
  /** Values of columns declared as identifiers (customer number, SSN hash …): equal values are the same person. */
  ids?: Record<string, string>;
};

/** A finding about one field of a record: kept, reported, never fatal to the record. */
export interface FieldProblem {
  field: ContactField;
  value: string;
  reason: string;
}

/**
 * One source record of a person, standardized. Display values and match keys side by side;
 * the raw values stay in `raw`.
 */
export interface PersonRecord {
  first: string | null;
  middle: string | null;
  last: string | null;
  suffix: string | null;
  email: string | null;
  phone: string | null;
  /** Last 7 digits of the phone (also from a local number without area code). */
  phone7: string | null;
  dob: string | null;
  line1: string | null;
  houseNumber: string | null;
  streetName: string | null;
  city: string | null;
  state: string | null;
  zip5: string | null;
  zip4: string | null;
  ids: string[];
  problems: FieldProblem[];
  raw: ContactInput;
}

/** Standardizes a contact's raw fields. Invalid values are left out with a problem; nothing throws. */
export function standardizeContact(input: ContactInput, today?: Date): PersonRecord {
  const problems: FieldProblem[] = [];
  const has = (f: ContactField) => typeof input[f] === "string" && input[f]!.trim() !== "";
  const name = standardizeName({
    first: input.first_name,
    middle: input.middle_name,
    last: input.last_name,
    suffix: input.suffix,
    full: input.full_name,
  });

  let email: string | null = null;
  if (has("email")) {
    const e = standardizeEmail(input.email!);
    if (e.email) email = e.email;
    else problems.push({ field: "email", value: input.email!, reason: e.problem! });
  }

  let phone: string | null = null,
    phone7: string | null = null;
  for (const f of ["phone", "phone2"] as const) {
    if (!has(f) || phone) continue;
    const p = standardizePhone(input[f]!);
    if (p.e164) {
      phone = p.e164;
      phone7 = p.last7;
    } else {
      phone7 ??= p.last7;
      problems.push({ field: f, value: input[f]!, reason: p.problem! });
    }
  }

  let dob: string | null = null;
  if (has("dob")) {
    const d = standardizeDob(input.dob!, today);
    if (d.dob) dob = d.dob;
    else problems.push({ field: "dob", value: input.dob!, reason: d.problem! });
  }

  const anyAddress = has("street") || has("city") || has("state") || has("zip");
  const address = anyAddress
    ? standardizeAddress({
        street: input.street,
        street2: input.street2,
        city: input.city,
        state: input.state,
        zip: input.zip,
      })
    : null;
  if (address) {
    for (const reason of address.problems) {
      const field: ContactField = reason.includes("state") ? "state" : reason.includes("ZIP") ? "zip" : "street";
      if (field !== "street" || has("street")) problems.push({ field, value: input[field] ?? "", reason });
    }
  }
  const ids = Object.entries(input.ids ?? {})
    .filter(([, v]) => v.trim() !== "")
    .map(([k, v]) => `${k.toLowerCase()}=${v.trim().toUpperCase()}`);
  return {
    first: name.first,
    middle: name.middle,
    last: name.last,
    suffix: name.suffix,
    email,
    phone,
    phone7,
    dob,
    line1: address?.line1 ?? null,
    houseNumber: address?.number ?? null,
    streetName: address?.street ?? null,
    city: address?.city ?? null,
    state: address?.state ?? null,
    zip5: address?.zip5 ?? null,
    zip4: address?.zip4 ?? null,
    ids,
    problems,
    raw: input,
  };
}

/** Name keys used to compare: letters only; the first name also in its formal form ("bob" → "robert"). */
export function nameKeys(r: Pick<PersonRecord, "first" | "last">): {
  first: string | null;
  formal: string | null;
  last: string | null;
} {
  const first = nameKey(r.first);
  return { first, formal: first ? formalName(first) : null, last: nameKey(r.last) };
}
