import { describe, expect, it } from "vitest";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import fc from "fast-check";
import { People } from "@leadpipe/core";

const {
  standardizePhone,
  standardizeEmail,
  parseName,
  standardizeName,
  parseStreet,
  standardizeAddress,
  standardizeDob,
  standardizeZip,
  standardizeState,
  standardizeCity,
} = People;

describe("phones", () => {
  it.each([
    ["(212) 555-1234", "+12125551234", "5551234"],
    ["212.555.1234", "+12125551234", "5551234"],
    ["1-212-555-1234", "+12125551234", "5551234"],
    ["+1 212 555 1234", "+12125551234", "5551234"],
    ["'+1 212 555 1234", "+12125551234", "5551234"],
    ["2125551234", "+12125551234", "5551234"],
    ["212-555-1234 ext. 42", "+12125551234", "5551234"],
    ["+44 20 7946 0958", "+442079460958", "9460958"],
  ])("%s → %s", (raw, e164, last7) => {
    expect(standardizePhone(raw)).toEqual({ raw, e164, last7, problem: null });
  });

  it("keeps the last 7 digits of a 7-digit local number but gives no E.164 without an area code", () => {
    expect(standardizePhone("555-1234")).toEqual({
      raw: "555-1234",
      e164: null,
      last7: "5551234",
      problem: "7-digit local number without an area code",
    });
    expect(standardizePhone("555-1234", { areaCode: "617" })).toEqual({
      raw: "555-1234",
      e164: "+16175551234",
      last7: "5551234",
      problem: null,
    });
  });

  it.each([
    ["(112) 555-1234", "not a valid phone number"],
    ["(212) 155-1234", "not a valid phone number"],
    ["(911) 555-1234", "not a valid phone number"],
    ["555-12", "too few digits (5)"],
    ["call me", "letters in a phone number"],
  ])("refuses %s: %s", (raw, problem) => {
    expect(standardizePhone(raw)).toMatchObject({ e164: null, problem });
  });

  it("the fast path gives the same E.164 as libphonenumber-js for every 10-digit US number it accepts", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[2-9]\d{2}[2-9]\d{6}$/),
        fc.constantFrom("(%a) %e-%s", "%a-%e-%s", "%a.%e.%s", "1 %a %e %s", "+1%a%e%s"),
        (digits, format) => {
          const raw = format
            .replace("%a", digits.slice(0, 3))
            .replace("%e", digits.slice(3, 6))
            .replace("%s", digits.slice(6));
          const ours = standardizePhone(raw);
          const lib = parsePhoneNumberFromString(raw, "US");
          if (ours.e164 !== null) expect(ours.e164).toBe(lib?.number);
          if (lib?.isValid()) expect(ours.e164).toBe(lib.number);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("e-mails", () => {
  it("trims and lower-cases, and keeps a +tag out of the match key", () => {
    expect(standardizeEmail("  Jane.Doe+News@Example.COM ")).toEqual({
      raw: "  Jane.Doe+News@Example.COM ",
      email: "jane.doe+news@example.com",
      matchKey: "jane.doe@example.com",
      domain: "example.com",
      problem: null,
    });
    expect(standardizeEmail("mailto:bob@mail.example.org").email).toBe("bob@mail.example.org");
  });
  it.each([
    ["jane.doe@", "an e-mail address needs a local part, one @ and a domain"],
    ["jane..doe@example.com", 'invalid local part "jane..doe"'],
    ["jane@example", 'invalid domain "example"'],
    ["jane@-example.com", 'invalid domain "-example.com"'],
    ["jane doe@example.com", 'invalid local part "jane doe"'],
  ])("refuses %s", (raw, problem) => {
    expect(standardizeEmail(raw)).toMatchObject({ email: null, problem });
  });
});

describe("names", () => {
  it.each([
    ["John Smith", { prefix: null, first: "John", middle: null, last: "Smith", suffix: null }],
    ["Smith, John", { prefix: null, first: "John", middle: null, last: "Smith", suffix: null }],
    ["SMITH, JOHN Q., JR.", { prefix: null, first: "John", middle: "Q", last: "Smith", suffix: "Jr." }],
    ["Dr. Mary Ann O'BRIEN III", { prefix: "Dr.", first: "Mary", middle: "Ann", last: "O'Brien", suffix: "III" }],
    ["Pieter van der Berg", { prefix: null, first: "Pieter", middle: null, last: "van der Berg", suffix: null }],
    ["Juan Carlos de la Cruz", { prefix: null, first: "Juan", middle: "Carlos", last: "de la Cruz", suffix: null }],
    ["van der Berg, Pieter", { prefix: null, first: "Pieter", middle: null, last: "van der Berg", suffix: null }],
    ["ROBERT VAN DER BERG", { prefix: null, first: "Robert", middle: null, last: "van der Berg", suffix: null }],
    ["Robert Van der Berg", { prefix: null, first: "Robert", middle: null, last: "Van der Berg", suffix: null }],
    ["DeShawn McKay", { prefix: null, first: "DeShawn", middle: null, last: "McKay", suffix: null }],
    ["kate smith-jones", { prefix: null, first: "Kate", middle: null, last: "Smith-Jones", suffix: null }],
    ["Mrs. Ellen MCDONALD, PhD", { prefix: "Mrs.", first: "Ellen", middle: null, last: "McDonald", suffix: "PhD" }],
  ])("%s", (raw, parts) => {
    expect(parseName(raw)).toEqual({ raw, ...parts });
  });

  it("reads separate columns, with a suffix left in the surname column", () => {
    expect(standardizeName({ first: "ROBERT", last: "Smith Jr." })).toMatchObject({
      first: "Robert",
      last: "Smith",
      suffix: "Jr.",
    });
    expect(standardizeName({ full: "O'Connor, Sean" })).toMatchObject({ first: "Sean", last: "O'Connor" });
  });

  it("compares by letters only and folds nicknames", () => {
    expect(People.nameKey("O'Brien")).toBe("obrien");
    expect(People.nameKey("van der Berg")).toBe("vanderberg");
    expect(People.nameKey("Smith-Jones")).toBe("smithjones");
    expect(People.nameKey("José")).toBe("jose");
    expect(People.formalName("bob")).toBe("robert");
    expect(People.formalName("peggy")).toBe("margaret");
    expect(People.formalName("zelda")).toBe("zelda");
  });
});

describe("addresses (USPS Publication 28)", () => {
  it.each([
    ["123 North Main Street", "123 N MAIN ST"],
    ["123 N. Main St.", "123 N MAIN ST"],
    ["45 St Marks Pl", "45 SAINT MARKS PL"],
    ["900 St. Charles Avenue", "900 SAINT CHARLES AVE"],
    ["500 North St", "500 NORTH ST"],
    ["77 West Oak Road Southeast", "77 W OAK RD SE"],
    ["12 Elm Street, Apartment 4B", "12 ELM ST APT 4B"],
    ["12 Elm St Apt. 4B", "12 ELM ST APT 4B"],
    ["1200 Corporate Blvd Suite 210", "1200 CORPORATE BLVD STE 210"],
    ["1200 Corporate Boulevard Ste 210", "1200 CORPORATE BLVD STE 210"],
    ["88 Harbor Way #12", "88 HARBOR WAY # 12"],
    ["88 Harbor Way Unit C", "88 HARBOR WAY UNIT C"],
    ["3 Lake Shore Dr Rear", "3 LAKE SHORE DR REAR"],
    ["100 E 5th Street Fl 3", "100 E 5TH ST FL 3"],
  ])("%s → %s", (raw, line1) => {
    expect(parseStreet(raw).line1).toBe(line1);
  });

  it("splits a delivery line into its parts", () => {
    expect(parseStreet("123 N. Main Street, Apt 4B")).toEqual({
      raw: "123 N. Main Street, Apt 4B",
      line1: "123 N MAIN ST APT 4B",
      number: "123",
      predir: "N",
      street: "MAIN",
      suffix: "ST",
      postdir: null,
      unitType: "APT",
      unit: "4B",
      problems: [],
    });
  });

  it("standardizes states, ZIPs (also ones a spreadsheet ate the leading zero of) and cities", () => {
    expect(standardizeState("Massachusetts")).toBe("MA");
    expect(standardizeState("n.y.")).toBe("NY");
    expect(standardizeState("Atlantis")).toBeNull();
    expect(standardizeZip("02116-1234")).toEqual({ zip5: "02116", zip4: "1234" });
    expect(standardizeZip("021161234")).toEqual({ zip5: "02116", zip4: "1234" });
    expect(standardizeZip("2116")).toEqual({ zip5: "02116", zip4: null });
    expect(standardizeZip("ABCDE")).toBeNull();
    expect(standardizeCity("St. Louis")).toBe("SAINT LOUIS");
    expect(standardizeCity("Ft Worth")).toBe("FORT WORTH");
  });

  it("joins a unit column to the line and reports what it cannot read", () => {
    expect(
      standardizeAddress({ street: "22 Elm St", street2: "Apt 4B", city: "Boston", state: "ma", zip: "2116" }),
    ).toMatchObject({
      line1: "22 ELM ST APT 4B",
      city: "BOSTON",
      state: "MA",
      zip5: "02116",
      zip4: null,
      problems: [],
    });
    expect(standardizeAddress({ street: "Elm St", state: "XX", zip: "1" }).problems).toEqual([
      "no house number",
      'unknown state "XX"',
      'invalid ZIP "1"',
    ]);
  });

  it("gives every part, in order, of an address with no street line (city, state and ZIP only)", () => {
    const address = standardizeAddress({ city: "st louis", state: "mo", zip: "63101-1234" });
    expect(address).toEqual({
      raw: "st louis, mo, 63101-1234",
      line1: null,
      number: null,
      predir: null,
      street: null,
      suffix: null,
      postdir: null,
      unitType: null,
      unit: null,
      problems: [],
      city: "SAINT LOUIS",
      state: "MO",
      zip5: "63101",
      zip4: "1234",
    });
    expect(Object.keys(address)).toEqual([
      "raw",
      "line1",
      "number",
      "predir",
      "street",
      "suffix",
      "postdir",
      "unitType",
      "unit",
      "problems",
      "city",
      "state",
      "zip5",
      "zip4",
    ]);
  });
});

describe("dates of birth", () => {
  const today = new Date("2026-06-01T00:00:00Z");
  it.each([
    ["1980-01-31"],
    ["01/31/1980"],
    ["1/31/80"],
    ["31/01/1980"],
    ["31.01.1980"],
    ["19800131"],
    ["Jan 31, 1980"],
    ["January 31st 1980"],
    ["31 January 1980"],
    ["31-Jan-80"],
    ["1980/01/31"],
    ["1980-01-31T00:00:00Z"],
    ["29251"],
  ])("%s → 1980-01-31", (raw) => {
    expect(standardizeDob(raw, today)).toEqual({ raw, dob: "1980-01-31", problem: null });
  });
  it("reads a two-digit year as the past", () => {
    expect(standardizeDob("3/4/25", today).dob).toBe("2025-03-04");
    expect(standardizeDob("3/4/27", today).dob).toBe("1927-03-04");
  });
  it.each([
    ["02/30/1980", 'not a calendar date: "02/30/1980"'],
    ["2027-01-01", "a birth date in the future: 2027-01-01"],
    ["1890-01-01", "a birth date more than 125 years ago: 1890-01-01"],
    ["yesterday", 'not a date: "yesterday"'],
  ])("refuses %s", (raw, problem) => {
    expect(standardizeDob(raw, today)).toEqual({ raw, dob: null, problem });
  });
  it("reads the same value again by the day it is asked on (the last answer is kept only for that day)", () => {
    expect(standardizeDob("2026-06-02", today).problem).toBe("a birth date in the future: 2026-06-02");
    expect(standardizeDob("2026-06-02", new Date("2026-06-02T00:00:00Z")).dob).toBe("2026-06-02");
    expect(standardizeDob("2026-06-02", today).dob).toBeNull();
    expect(standardizeDob("6/2/26", new Date("2026-06-02T23:59:59Z")).dob).toBe("2026-06-02");
  });
});

describe("a whole contact", () => {
  it("standardizes every field, keeps the raw input and lists what it left out", () => {
    const raw = {
      first_name: "bob",
      last_name: "O'BRIEN",
      email: "Bob@Example.com",
      phone: "555-1234",
      street: "12 St James St Apt 2",
      city: "st. louis",
      state: "Missouri",
      zip: "63101-1234",
      dob: "2/30/1970",
    };
    expect(People.standardizeContact(raw, new Date("2026-01-01"))).toEqual({
      first: "Bob",
      middle: null,
      last: "O'Brien",
      suffix: null,
      email: "bob@example.com",
      phone: null,
      phone7: "5551234",
      dob: null,
      line1: "12 SAINT JAMES ST APT 2",
      houseNumber: "12",
      streetName: "SAINT JAMES",
      city: "SAINT LOUIS",
      state: "MO",
      zip5: "63101",
      zip4: "1234",
      ids: [],
      problems: [
        { field: "phone", value: "555-1234", reason: "7-digit local number without an area code" },
        { field: "dob", value: "2/30/1970", reason: 'not a calendar date: "2/30/1970"' },
      ],
      raw,
    });
  });
});
