import { contactsSource } from "./contacts";

/**
 * People rows of a legacy database or folder, written by `leadpipe migrate` (migration/): the
 * contact fields under their own names, `legacy_id` (source/table/primary key: the record's
 * identity, so a range landed twice updates, never duplicates) and `legacy_extra` (the other
 * columns, exact values and cast flags, as JSON kept in the record's raw values) and `legacy_person`
 * (the lineage of the person row a child row belongs to, on that row's record too: one person).
 */
export const legacyContacts = contactsSource({
  name: "legacy-contacts",
  description: "Legacy people rows written by leadpipe migrate (contact fields, legacy_id, legacy_extra)",
  fileName: /^legacy-contacts.*\.csv$/i,
  // the record's key, not a person identifier: repeated people in legacy rows become one golden record
  recordKey: "legacy_id",
  extra: "legacy_extra",
  // a child table's rows (phones keyed by customer) and their parent's record: one person
  link: "legacy_person",
});
