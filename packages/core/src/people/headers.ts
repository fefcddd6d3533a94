import { CONTACT_FIELDS, type ContactField } from "./record";

/** Header spellings seen in exports, compared with case, spaces and punctuation removed. */
const SYNONYMS: Record<ContactField, string[]> = {
  full_name: ["name", "fullname", "contactname", "customername", "borrowername", "callername", "displayname"],
  prefix: ["prefix", "title", "salutation", "honorific"],
  first_name: [
    "firstname",
    "first",
    "fname",
    "givenname",
    "given",
    "forename",
    "borrowerfirst",
    "borrowerfirstname",
    "callerfirstname",
  ],
  middle_name: ["middlename", "middle", "mname", "middleinitial", "mi"],
  last_name: [
    "lastname",
    "last",
    "lname",
    "surname",
    "familyname",
    "family",
    "borrowerlast",
    "borrowerlastname",
    "callerlastname",
  ],
  suffix: ["suffix", "namesuffix", "generation"],
  email: ["email", "emailaddress", "mail", "emailaddr", "primaryemail", "borroweremail"],
  phone: [
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "mobile",
    "mobilephone",
    "cell",
    "cellphone",
    "homephone",
    "primaryphone",
    "phone1",
    "borrowerphone",
    "callerphone",
    "ani",
    "callerid",
  ],
  phone2: ["phone2", "altphone", "alternatephone", "workphone", "otherphone", "secondaryphone"],
  street: [
    "street",
    "address",
    "address1",
    "addressline1",
    "streetaddress",
    "street1",
    "mailingaddress",
    "addr",
    "addr1",
    "propertyaddress",
  ],
  street2: ["address2", "addressline2", "street2", "addr2", "apt", "unit", "suite", "aptsuite"],
  city: ["city", "town", "suburb", "locality", "mailingcity", "propertycity"],
  state: ["state", "st", "province", "region", "stateprovince", "mailingstate", "propertystate"],
  zip: ["zip", "zipcode", "postcode", "postalcode", "zip5", "postal", "mailingzip", "propertyzip"],
  dob: ["dob", "dateofbirth", "birthdate", "birthday", "born", "bdate"],
};
/**
 * Headers that name a person identifier (compared like headers: "Social Security Number", "soc_sec_id",
 * "Member No."). Such a column is proposed as an identifier unless the caller declares its identifiers
 * or maps the column to a field.
 */
const IDENTIFIER_HEADERS = new Set([
  "ssn",
  "socialsecuritynumber",
  "socialsecurityno",
  "socialsecurity",
  "socsecid",
  "socsecno",
  "socsecnumber",
  "socsec",
  "membernumber",
  "memberno",
  "membernr",
  "memberid",
  "customernumber",
  "customerno",
  "customernr",
  "customerid",
]);
const BY_SPELLING = new Map<string, ContactField>();
for (const f of CONTACT_FIELDS) for (const s of SYNONYMS[f]) BY_SPELLING.set(s, f);

export const headerKey = (h: string) =>
  h
    .normalize("NFD")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "");

export interface HeaderMapping {
  /** Column index → field. */
  fields: Map<number, ContactField>;
  /** Column index → identifier name (columns declared with --id or `id:` in a mapping). */
  ids: Map<number, string>;
  /** Headers that map to nothing (kept in the raw record only). */
  unmapped: string[];
  /** Headers taken as identifiers because they name one (SSN, member number …), not because they were declared. */
  proposed: string[];
}

/**
 * Maps a header row to contact fields by name; `explicit` (field → header, e.g. from
 * `--map first_name=Given,zip=PLZ`) wins over the guess. `idColumns` are headers whose values
 * identify a person; when there are none, columns whose header names a person identifier (SSN,
 * member or customer number) are proposed as identifiers (`propose: false`: not). The first column claiming a field keeps it.
 */
export function mapHeaders(
  header: readonly string[],
  explicit: Readonly<Record<string, string>> = {},
  idColumns: readonly string[] = [],
  options: { propose?: boolean } = {},
): HeaderMapping {
  const fields = new Map<number, ContactField>();
  const ids = new Map<number, string>();
  const taken = new Set<ContactField>();
  const keys = header.map(headerKey);
  for (const [field, column] of Object.entries(explicit)) {
    if (!(CONTACT_FIELDS as readonly string[]).includes(field))
      throw new Error(`unknown field "${field}" in the mapping (fields: ${CONTACT_FIELDS.join(", ")})`);
    const index = keys.indexOf(headerKey(column));
    if (index < 0)
      throw new Error(`the mapping names column "${column}" for ${field}, but the header has no such column`);
    fields.set(index, field as ContactField);
    taken.add(field as ContactField);
  }
  for (const column of idColumns) {
    const index = keys.indexOf(headerKey(column));
    if (index < 0) throw new Error(`identifier column "${column}" is not in the header`);
    ids.set(index, header[index]!.trim());
  }
  const proposed: string[] = [];
  if (idColumns.length === 0 && options.propose !== false) {
    keys.forEach((k, index) => {
      if (fields.has(index) || !IDENTIFIER_HEADERS.has(k)) return;
      ids.set(index, header[index]!.trim());
      proposed.push(header[index]!.trim());
    });
  }
  keys.forEach((k, index) => {
    if (fields.has(index) || ids.has(index)) return;
    const field = BY_SPELLING.get(k);
    if (field && !taken.has(field)) {
      fields.set(index, field);
      taken.add(field);
    }
  });
  const unmapped = header.filter((_h, i) => !fields.has(i) && !ids.has(i));
  return { fields, ids, unmapped, proposed };
}

/** Parses "first_name=Given,zip=PLZ" into field → column. */
export function parseMapping(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`mapping entries are field=column, got "${part}"`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** A row's cells as contact input through a header mapping. */
export function contactFromRow(cells: readonly string[], mapping: HeaderMapping): import("./record").ContactInput {
  const input: import("./record").ContactInput = {};
  for (const [index, field] of mapping.fields) input[field] = cells[index] ?? null;
  if (mapping.ids.size) {
    input.ids = {};
    for (const [index, name] of mapping.ids) input.ids[name] = cells[index] ?? "";
  }
  return input;
}
