import { describe, expect, it } from "vitest";
import { contacts, contactsSource } from "../../packages/core/src/sources/contacts";
import { customers } from "../../packages/core/src/sources/customers";
import { fileColumns } from "../../packages/core/src/sources/spec";

const compiled = (spec: typeof contacts, header: string[]) =>
  spec.row.compile(Object.fromEntries(fileColumns(spec, header).map((c) => [c.field, c.index])));

describe("contact lists: headers mapped by name", () => {
  it("maps common spellings to fields and leaves the rest unmapped", () => {
    const header = [
      "__source_line",
      "Given Name",
      "Family Name",
      "Email Address",
      "Cell Phone",
      "Address Line 1",
      "Town",
      "Province",
      "Postal Code",
      "Birthdate",
      "Notes",
    ];
    expect(fileColumns(contacts, header).map((c) => `${c.header}→${c.field}`)).toEqual([
      "Given Name→first_name",
      "Family Name→last_name",
      "Email Address→email",
      "Cell Phone→phone",
      "Address Line 1→street",
      "Town→city",
      "Province→state",
      "Postal Code→zip",
      "Birthdate→dob",
    ]);
  });

  it("stages a row as its standardized person record", () => {
    const row = compiled(contacts, ["__source_line", "Name", "E-mail", "Phone", "Street", "City", "ST", "Zip", "DOB"])([
      "7",
      "Smith, Robert J. Jr.",
      "Bob.Smith+news@Example.COM",
      "(212) 555-0101",
      "12 N. Main Street Apt 4",
      "St. Louis",
      "Missouri",
      "6311",
      "7/4/1970",
    ]);
    expect(row).toEqual({
      first_name: "Robert",
      middle_name: "J",
      last_name: "Smith",
      name_suffix: "Jr.",
      email: "bob.smith+news@example.com",
      phone: "+12125550101",
      phone7: "5550101",
      dob: "1970-07-04",
      address_line1: "12 N MAIN ST APT 4",
      house_number: "12",
      street_name: "MAIN",
      city: "SAINT LOUIS",
      state: "MO",
      zip5: "06311",
      zip4: null,
      ids: "{}",
      source_kind: "contacts",
      source_key: null,
      raw: JSON.stringify({
        full_name: "Smith, Robert J. Jr.",
        email: "Bob.Smith+news@Example.COM",
        phone: "(212) 555-0101",
        street: "12 N. Main Street Apt 4",
        city: "St. Louis",
        state: "Missouri",
        zip: "6311",
        dob: "7/4/1970",
      }),
    });
  });

  it("an explicit mapping wins over the guess; declared identifiers key the record across deliveries", () => {
    const crm = contactsSource({
      name: "crm-contacts",
      fileName: /^crm-.*\.csv$/,
      map: { zip: "PLZ", first_name: "Vorname" },
      identifiers: ["Member No"],
    });
    const header = ["__source_line", "Member No", "Vorname", "First", "Nachname", "PLZ", "Zip"];
    expect(fileColumns(crm, header).map((c) => `${c.header}→${c.field}`)).toEqual([
      "Member No→id_0",
      "Vorname→first_name",
      "PLZ→zip",
    ]);
    expect(() => fileColumns(crm, ["Vorname", "PLZ"])).toThrow(
      'header does not fit crm-contacts: identifier column "Member No" is not in the header',
    );
    const row = compiled(crm, header)(["2", " m-17 ", "Ann", "ignored", "Lee", "02116", "99999"]);
    expect(row).toMatchObject({
      first_name: "Ann",
      last_name: null,
      zip5: "02116",
      ids: '{"member no=M-17"}',
      source_kind: "crm-contacts",
      source_key: "member no=M-17",
    });
  });

  it("refuses unusable values with the standardizer's reason; a 7-digit local phone is usable", () => {
    const header = ["__source_line", "First Name", "Last Name", "Phone", "E-mail", "State", "Zip", "DOB"];
    const check = compiled(contacts, header);
    expect(check(["2", "Ann", "Lee", "555-0101", "", "", "", ""])).toMatchObject({ phone: null, phone7: "5550101" });
    for (const [i, bad] of [
      [3, "12"],
      [4, "ann@"],
      [5, "Atlantis"],
      [6, "1234567"],
      [7, "2/30/1990"],
    ] as const) {
      const cells = ["2", "Ann", "Lee", "", "", "", "", ""];
      cells[i] = bad;
      expect(check(cells)).toBeUndefined();
    }
    const input = {
      first_name: "Ann",
      last_name: "Lee",
      email: "ann@",
      phone: "12",
      state: "Atlantis",
      zip: "1234567",
      dob: "2/30/1990",
    };
    const all = Object.fromEntries(contacts.row.fields.map((f) => [f, ""]));
    const result = contacts.row.safeParse({ ...all, ...input });
    expect(result.success ? [] : result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`)).toEqual([
      "email: an e-mail address needs a local part, one @ and a domain",
      "phone: too few digits (2)",
      'state: unknown state "Atlantis"',
      'zip: invalid ZIP "1234567"',
      'dob: not a calendar date: "2/30/1990"',
    ]);
  });

  it("fixed-column sources still name what their header misses", () => {
    expect(() => fileColumns(customers, ["customer_id", "email"])).toThrow(
      'header does not match customers: missing column(s) "home_state", "loyalty_tier", "is_active", "updated_at"',
    );
  });
});
