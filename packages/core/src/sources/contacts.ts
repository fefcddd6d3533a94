import { createHash } from "node:crypto";
import type { Reader, SourceSpec } from "./spec";
import { coerce, Refusal, rowSchema, text } from "./fields";
import { promotionTarget, sqlRule } from "./target";
import { mapHeaders } from "../people/headers";
import { CONTACT_FIELDS, standardizeContact, type ContactField, type ContactInput } from "../people/record";
import { recordColumns } from "../people/resolve";
import { standardizeEmail } from "../people/email";
import { standardizePhone } from "../people/phone";
import { standardizeDob } from "../people/dob";
import { standardizeState, standardizeZip } from "../people/address";

/**
 * Contact lists (legacy exports, campaign lists, CRM exports): any file whose headers name
 * people's fields. Each row becomes one person record (person_records), matched into golden
 * records by the people consumer after the import. Headers are mapped by name ("Given Name",
 * "Surname", "Postcode", "Mobile", "E-mail", "Date of Birth" …); a list with other spellings
 * gets its own spec with an explicit mapping, and columns that identify a person (a customer
 * number) are declared as identifiers: equal values are the same person, different values
 * never are, and a newer delivery of the same identifier updates its record.
 */
export interface ContactsOptions {
  name: string;
  description?: string;
  fileName: RegExp;
  /** field → header, winning over the guess by name (e.g. { zip: "PLZ" }). */
  map?: Readonly<Partial<Record<ContactField, string>>>;
  /** Headers whose values identify a person within this source (every file must carry them). */
  identifiers?: readonly string[];
  /** Default: UTF-8 CSV with commas. */
  reader?: Reader;
  /** A header whose cells hold a JSON object kept whole in the record's raw values as `extra` (legacy migration). */
  extra?: string;
  /**
   * A header whose value names the record within the source (a legacy primary key): a newer
   * delivery of the same value updates that record. Unlike an identifier it says nothing about
   * the person, so two records with different keys may still be one person.
   */
  recordKey?: string;
  /**
   * A header whose value (when present) names the person the record belongs to by a key of the
   * source (a legacy person row's lineage): records sharing it are one person (an identifier of its
   * own, so records with different values are still compared by the usual rules).
   */
  link?: string;
}

/** The identifier a link value becomes: its name is the value's own hash, so different links never veto a match. */
export const linkId = (v: string) => `link-${createHash("sha256").update(v).digest("hex").slice(0, 16)}`;

/** A value written but unusable is refused with the standardizer's reason; the row is rejected, never silently thinned. */
const checked = (expected: string, problem: (v: string) => string | null) =>
  coerce(
    expected,
    (v) => {
      const p = problem(v);
      return p === null ? v : new Refusal(p);
    },
    false,
  );

const FIELD_RULES: Record<ContactField, ReturnType<typeof text>> = {
  full_name: text({ max: 200 }),
  prefix: text({ max: 40 }),
  first_name: text({ max: 100 }),
  middle_name: text({ max: 100 }),
  last_name: text({ max: 100 }),
  suffix: text({ max: 40 }),
  email: checked("an e-mail address", (v) => standardizeEmail(v).problem),
  // A 7-digit local number has no E.164 but keeps its last 7 digits for matching: accepted.
  phone: checked("a phone number", (v) => {
    const p = standardizePhone(v);
    return p.e164 || p.last7 ? null : p.problem;
  }),
  phone2: checked("a phone number", (v) => {
    const p = standardizePhone(v);
    return p.e164 || p.last7 ? null : p.problem;
  }),
  street: text({ max: 200 }),
  street2: text({ max: 100 }),
  city: text({ max: 100 }),
  state: checked("a US state", (v) => (standardizeState(v) ? null : `unknown state "${v}"`)),
  zip: checked("a ZIP code", (v) => (standardizeZip(v) ? null : `invalid ZIP "${v}"`)),
  dob: checked("a date of birth", (v) => standardizeDob(v).problem),
};

/** Staged as person_records' columns (lineage first, implicitly); row_key is derived in SQL. */
const COLUMNS = [
  "source_kind",
  "source_key",
  "first_name",
  "middle_name",
  "last_name",
  "name_suffix",
  "email",
  "phone",
  "phone7",
  "dob",
  "address_line1",
  "house_number",
  "street_name",
  "city",
  "state",
  "zip5",
  "zip4",
  "ids",
  "raw",
] as const;

/** A cell's JSON object (the extra values a legacy row carries), parsed once; a Refusal when it holds none. */
function jsonObject(v: string): object | Refusal {
  try {
    const o: unknown = JSON.parse(v);
    if (typeof o === "object" && o !== null && !Array.isArray(o)) return o;
  } catch {}
  return new Refusal("not a JSON object");
}

/** A PostgreSQL array literal of text ({"a","b"}). */
const textArray = (xs: readonly string[]) =>
  `{${xs.map((x) => `"${x.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(",")}}`;

/** Person records: refused rows (contacts_refused) never reach promote_contacts. */
const contactsTarget = promotionTarget({
  kind: "contacts",
  columns: COLUMNS,
  key: ["row_key"],
  promoteFn: "promote_contacts",
  refuse: { when: "before", rule: sqlRule("SELECT source_row, field, value, reason FROM contacts_refused($1, $2)") },
});

export function contactsSource(opts: ContactsOptions): SourceSpec {
  const identifiers = opts.identifiers ?? [];
  const idField = (i: number) => `id_${i}`;
  const fields: Record<string, ReturnType<typeof coerce<unknown>>> = { ...FIELD_RULES };
  identifiers.forEach((_h, i) => {
    fields[idField(i)] = text({ max: 100 });
  });
  if (opts.recordKey) fields.record_key = text({ max: 200, required: true });
  if (opts.link) fields.link = text({ max: 300 });
  if (opts.extra) fields.extra = coerce("a JSON object", jsonObject, false);
  return {
    name: opts.name,
    partner: null,
    description:
      opts.description ??
      `Contact list (${opts.reader?.format === "xlsx" ? "XLSX" : "CSV"}, headers mapped by name${identifiers.length ? `; identifiers ${identifiers.join(", ")}` : ""})`,
    schemaVersion: 1,
    fileName: opts.fileName,
    reader: opts.reader ?? { format: "csv", delimiter: ",", encoding: "utf-8" },
    columns: {},
    mapHeader(header) {
      // A spec's identifiers are its own columns (id_0 …): nothing is proposed from the header here.
      const mapping = mapHeaders(header, opts.map ?? {}, identifiers, { propose: false });
      const named = [...mapping.fields.values()].some(
        (f) => f === "first_name" || f === "last_name" || f === "full_name",
      );
      if (!named) {
        throw new Error(
          `no column names a person (first name, last name or name); found ${header.map((h) => JSON.stringify(h)).join(", ")}`,
        );
      }
      const out = new Map<number, string>(mapping.fields);
      for (const [index, id] of mapping.ids) out.set(index, idField(identifiers.findIndex((h) => h.trim() === id)));
      for (const [column, field, what] of [
        [opts.recordKey, "record_key", "the record's key"],
        [opts.extra, "extra", "the record's extra values"],
        [opts.link, "link", ""],
      ] as const) {
        if (!column) continue;
        const index = header.findIndex((h) => h.trim() === column);
        // The link is optional: a file without it links nothing.
        if (index < 0 && field === "link") continue;
        if (index < 0) throw new Error(`no column ${column} (${what})`);
        out.set(index, field);
      }
      return out;
    },
    row: rowSchema(fields, (r) => {
      const input: ContactInput = {};
      for (const f of CONTACT_FIELDS) input[f] = r[f] as string | null;
      if (identifiers.length)
        input.ids = Object.fromEntries(identifiers.map((h, i) => [h, (r[idField(i)] as string | null) ?? ""]));
      const link = r.link as string | null | undefined;
      if (link) input.ids = { ...input.ids, [linkId(link)]: link };
      const record = recordColumns(standardizeContact(input));
      return {
        ...record,
        source_kind: opts.name,
        // A keyed or identified contact is the same record across deliveries; others are their row (row_key in SQL).
        source_key: opts.recordKey
          ? `${opts.recordKey}=${String(r.record_key ?? "")
              .trim()
              .toUpperCase()}`
          : (record.ids[0] ?? null),
        ids: textArray(record.ids),
        raw: JSON.stringify(opts.extra && r.extra ? { ...record.raw, extra: r.extra } : record.raw),
      };
    }),
    target: contactsTarget,
  };
}

/** The generic contact list: contacts*.csv, or a CSV dropped under inbox/contacts/. */
export const contacts = contactsSource({ name: "contacts", fileName: /^contacts.*\.csv$/i });

/** The same as a workbook (first sheet, first non-empty row the header): contacts*.xlsx, or under inbox/contacts-xlsx/. */
export const contactsXlsx = contactsSource({
  name: "contacts-xlsx",
  fileName: /^contacts.*\.xlsx$/i,
  reader: { format: "xlsx" },
});

export const contactSources: readonly SourceSpec[] = [contacts, contactsXlsx];
