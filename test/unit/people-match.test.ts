import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { People } from "@leadpipe/core";
import * as Matching from "@leadpipe/core/matching";
import { matchCommand, matchFile } from "../../packages/local/src/commands/match";
import { syntheticPeople } from "../../packages/local/src/generate/people";

const profile = (input: People.ContactInput) =>
  People.profileOf(People.standardizeContact(input, new Date("2026-01-01")));
const verdict = (a: People.ContactInput, b: People.ContactInput) => People.compare(profile(a), profile(b));

const robert = {
  first_name: "Robert",
  last_name: "Smith",
  email: "rsmith@example.com",
  phone: "(617) 555-0101",
  street: "12 Elm Street",
  city: "Boston",
  state: "MA",
  zip: "02116",
  dob: "1970-03-04",
};

describe("the tiered rules", () => {
  it("exact: the same e-mail, or the same E.164 phone with names that agree", () => {
    expect(verdict(robert, { first_name: "Bob", last_name: "Smith", email: "RSmith@Example.com" })).toEqual({
      score: 1,
      tier: "exact",
      reason: "exact: e-mail",
    });
    expect(verdict(robert, { first_name: "Robert", last_name: "Smyth", phone: "617.555.0101" })).toEqual({
      score: 0.97,
      tier: "exact",
      reason: "exact: phone",
    });
  });

  it("a shared landline alone does not make a household one person", () => {
    expect(
      verdict(robert, {
        first_name: "Linda",
        last_name: "Smith",
        phone: "617-555-0101",
        street: "12 Elm St",
        zip: "02116",
      }),
    ).toBeNull();
  });

  it("strong: first + last with the ZIP, the last 7 phone digits (a local number) or the date of birth; nicknames fold", () => {
    expect(verdict(robert, { first_name: "Bob", last_name: "Smith", zip: "02116-4411" })).toEqual({
      score: 0.95,
      tier: "strong",
      reason: "strong: first + last + ZIP (nickname)",
    });
    expect(verdict(robert, { first_name: "Robert", last_name: "Smith", phone: "555-0101" })).toEqual({
      score: 0.94,
      tier: "strong",
      reason: "strong: first + last + last 7 phone digits",
    });
    expect(verdict(robert, { first_name: "Robert", last_name: "Smith", dob: "03/04/1970", zip: "90210" })).toEqual({
      score: 0.95,
      tier: "strong",
      reason: "strong: first + last + date of birth",
    });
  });

  it("fuzzy: names with typos at the same address, with a score that says how alike", () => {
    // rboert/robert: one transposition in 6 letters = 0.917; smiht/smith: 0.9; name 0.908; score 0.5 + 0.25 × 0.908 + 0.15 × 1.
    expect(verdict(robert, { first_name: "Rboert", last_name: "Smiht", street: "12 Elm St", zip: "02116" })).toEqual({
      score: 0.877,
      tier: "fuzzy",
      reason: "fuzzy: name 0.908 + address 1",
    });
  });

  it("fuzzy: an e-mail with a letter typo at the same domain, names alike, same ZIP", () => {
    expect(
      verdict(
        { ...robert, email: "robert.smith@example.com" },
        {
          first_name: "Robert",
          last_name: "Smith",
          email: "robert.smiht@example.com",
          zip: "02116",
          street: "40 Oak St",
        },
      ),
    ).toEqual({ score: 0.8, tier: "fuzzy", reason: "fuzzy: e-mail domain + mailbox 0.958 + name 1" });
    expect(
      verdict(
        { first_name: "Robert", last_name: "Smith", email: "robert.smith@example.com", zip: "02116" },
        { first_name: "Robertt", last_name: "Smith", email: "robert.smiht@example.com", zip: "02116" },
      ),
    ).toEqual({ score: 0.779, tier: "fuzzy", reason: "fuzzy: e-mail domain + mailbox 0.958 + name 0.929" });
    // Different numbers or separators are different mailboxes.
    expect(
      verdict(
        { first_name: "Mary", last_name: "Johnson", email: "mary_johnson5@example.org", zip: "45262" },
        { first_name: "Mari", last_name: "Johnson", email: "mary.johnson@example.org", zip: "45262" },
      ),
    ).toBeNull();
  });

  it("a different date of birth or identifier vetoes every rule; short names one letter apart are two names", () => {
    expect(verdict(robert, { ...robert, dob: "1985-07-09" })).toBeNull();
    expect(
      People.compare({ ...profile(robert), ids: ["customer=1"] }, { ...profile(robert), ids: ["customer=2"] }),
    ).toBeNull();
    expect(
      People.compare(
        { ...profile({ first_name: "X" }), ids: ["customer=7"] },
        { ...profile({ first_name: "Y" }), ids: ["customer=7"] },
      ),
    ).toEqual({ score: 1, tier: "exact", reason: "exact: identifier customer" });
    expect(
      verdict(
        { first_name: "Mark", last_name: "Davis", street: "4 Oak St", zip: "80214" },
        { first_name: "Mary", last_name: "Davis", street: "4 Oak St", zip: "80214" },
      ),
    ).toBeNull();
  });
});

describe("rules for records that share no contact point exactly", () => {
  it("the same house and street when one record has no ZIP (and the cities do not differ)", () => {
    expect(verdict(robert, { first_name: "Robert", last_name: "Smith", street: "12 Elm St", city: "Boston" })).toEqual({
      score: 0.93,
      tier: "strong",
      reason: "strong: first + last + street address",
    });
    expect(
      verdict(robert, { first_name: "Robert", last_name: "Smith", street: "12 Elm St", city: "Denver" }),
    ).toBeNull();
    expect(
      People.blockKeys(profile({ first_name: "Robert", last_name: "Smith", street: "12 Elm St" }), "probe"),
    ).toContain("s:12|ELM");
  });

  it("the same house and street meet across ZIPs only where a ZIP is missing, or two of its digits are swapped", () => {
    const at = (zip: string | undefined, first = "Robert") =>
      profile({ first_name: first, last_name: "Smith", street: "12 Elm St", ...(zip ? { zip } : {}) });
    // Both with a ZIP: one found only through s: would be compared with every 12 Elm St of every town.
    expect(People.blocksMeet(at("02116"), at("80214"))).toBe(false);
    expect(People.blocksMeet(at("02116"), at("02161"))).toBe(true);
    expect(People.blocksMeet(at("02116"), at(undefined))).toBe(true);
    expect(People.blocksMeet(at(undefined), at("80214"))).toBe(true);
    expect(People.blocksMeet(at(undefined), at(undefined, "Bob"))).toBe(true);
    expect(People.blockKeys(at("02116"), "index")).toEqual(expect.arrayContaining(["s:12|ELM", "x:12|ELM|01126"]));
    expect(People.blockKeys(at("02116"), "probe")).toEqual(expect.arrayContaining(["n:12|ELM", "x:12|ELM|01126"]));
    expect(People.blockKeys(at("02116"), "probe")).not.toContain("s:12|ELM");
    expect(People.blockKeys(at(undefined), "index")).toEqual(expect.arrayContaining(["s:12|ELM", "n:12|ELM"]));

    // In the matcher, in every order: the pairs compared (the veto is asked once per compared pair) are those that meet.
    const records = [at("02116", "Robert"), at("80214", "Robert"), at(undefined, "Robert"), at("02161", "Robert")];
    const names = ["boston", "denver", "nozip", "swapped"];
    for (const order of [
      [0, 1, 2, 3],
      [2, 3, 1, 0],
      [3, 2, 0, 1],
      [1, 0, 3, 2],
    ]) {
      const compared = new Set<string>();
      const matcher = new People.Matcher({
        veto: (a, b) => {
          compared.add([names[order[a]!]!, names[order[b]!]!].sort().join("-"));
          return false;
        },
      });
      for (const i of order) matcher.add(records[i]!);
      // Boston's and Denver's Robert Smith of 12 Elm St share no other key (no phone, date of birth or e-mail).
      expect([...compared].sort()).toEqual(["boston-nozip", "boston-swapped", "denver-nozip", "nozip-swapped"]);
      // Linked: the ZIP with two digits swapped, and the record without a ZIP to both homes (a bridge, as before).
      expect(matcher.links.map((l) => [names[order[l.from]!]!, names[order[l.to]!]!].sort().join("-")).sort()).toEqual([
        "boston-nozip",
        "boston-swapped",
        "denver-nozip",
        "nozip-swapped",
      ]);
    }
  });

  it("a date of birth with a typo at the same address lowers the score instead of vetoing", () => {
    expect(
      verdict(robert, {
        first_name: "Robert",
        last_name: "Smiht",
        street: "12 Elm St",
        zip: "02116",
        dob: "1971-03-04",
      }),
    ).toEqual({ score: 0.838, tier: "fuzzy", reason: "fuzzy: name 0.95 + address 1 + date of birth with a typo" });
  });

  it("an ambiguous nickname may stand for either formal name; two different formal names are never one with a typo", () => {
    expect(
      verdict(
        { first_name: "Steve", last_name: "Murray", zip: "33119" },
        { first_name: "Stephen", last_name: "Murray", zip: "33119" },
      ),
    ).toEqual({ score: 0.95, tier: "strong", reason: "strong: first + last + ZIP (nickname)" });
    expect(
      verdict(
        { first_name: "Chris", last_name: "Johnson", phone: "667-865-5582" },
        { first_name: "Christine", last_name: "Johnson", phone: "(667) 865-5582" },
      ),
    ).toEqual({ score: 0.97, tier: "exact", reason: "exact: phone" });
    // A shared landline: Ronald and Donald are two people, not one name with a typo.
    expect(
      verdict(
        { first_name: "Ronald", last_name: "Perez", phone: "257-817-3840" },
        { first_name: "Donald", last_name: "Perez", phone: "257-817-3840" },
      ),
    ).toBeNull();
  });

  it("a phone or ZIP with two neighbouring digits swapped, beside the same full name", () => {
    expect(
      verdict(
        { first_name: "Brittany", last_name: "Medina", phone: "684-430-3506" },
        { first_name: "Brittany", last_name: "Medina", phone: "684-430-3056", zip: "97283" },
      ),
    ).toEqual({ score: 0.82, tier: "fuzzy", reason: "fuzzy: first + last + phone with two digits swapped" });
    const a = profile({ first_name: "Brittany", last_name: "Medina", phone: "684-430-3506" }),
      b = profile({ first_name: "Brittany", last_name: "Medina", phone: "684-430-3056" });
    expect(People.blockKeys(a, "index").filter((k) => k.startsWith("t:"))).toEqual(
      People.blockKeys(b, "probe").filter((k) => k.startsWith("t:")),
    );
    expect(
      verdict(
        { first_name: "Ann", last_name: "Lee", street: "5 Oak Ave", zip: "02116" },
        { first_name: "Ann", last_name: "Lee", street: "5 Oak Avenue", zip: "02161" },
      ),
    ).toEqual({
      score: 0.82,
      tier: "fuzzy",
      reason: "fuzzy: first + last + street address + ZIP with two digits swapped",
    });
  });

  it("namesakes: the same name and birthday link unless the name is common (see below); the same name in a ZIP at another house is two people", () => {
    const mary = { first_name: "Mary", last_name: "White", dob: "1978-11-02" };
    expect(verdict({ ...mary, phone: "404-679-8992", zip: "14296" }, { ...mary, zip: "63135" })).toEqual({
      score: 0.95,
      tier: "strong",
      reason: "strong: first + last + date of birth",
    });
    expect(
      verdict(
        { first_name: "James", last_name: "Garcia", street: "904 Broad St", zip: "60639" },
        { first_name: "James", last_name: "Garcia", street: "9945 Birch Rd", zip: "60639" },
      ),
    ).toBeNull();
  });

  it("a mailbox with one letter mistyped at the same domain, beside the same full name", () => {
    expect(
      verdict(
        { first_name: "Stephen", last_name: "Perez", email: "stepheperez9320@hotmail.com" },
        { first_name: "Stephen", last_name: "Perez", email: "stephenperez9320@hotmail.com" },
      ),
    ).toEqual({ score: 0.8, tier: "fuzzy", reason: "fuzzy: e-mail domain + mailbox 0.938 + name 1" });
  });
});

describe("name agreement weighed by how common the name is", () => {
  /** A population of `records` records: the given counts of names and values, the rest spread thin. */
  const population = (records: number, counts: Record<string, number>) => {
    const f = new People.Frequencies();
    f.load([
      ["#", records],
      ["#f", records],
      ["#g", records],
      ["#l", records],
      ["#d", records],
      ["#z", records],
    ]);
    for (const [key, n] of Object.entries(counts)) f.load([[key, n]]);
    return f;
  };
  // 1.9M records; James is 6 % of given names, Smith 9 % of surnames, ZIP 02116 holds 500 records.
  const world = population(1_900_000, {
    "#f:james": 114_000,
    "#g:james": 114_000,
    "#l:smith": 171_000,
    "#z:02116": 500,
    "#d:1970-03-04": 90,
    "#f:kwame": 60,
    "#g:kwame": 60,
    "#l:okafor": 40,
    "#f:lori": 9_000,
    "#g:lori": 9_000,
    "#f:lri": 3,
    "#g:lri": 3,
    "#f:mark": 20_000,
    "#g:mark": 20_000,
    "#f:mary": 60_000,
    "#g:mary": 60_000,
    "#l:mason": 5_000,
    "#l:hall": 8_000,
    "#l:hill": 9_000,
    "#f:natalie": 4_000,
    "#g:natalie": 4_000,
    "#l:taylor": 20_000,
    "#f:jaes": 470,
    "#g:jaes": 470,
    "#f:jim": 5_540,
    "#f:hannaah": 40,
    "#g:hannaah": 40,
    "#f:haneah": 30,
    "#g:haneah": 30,
    "#f:hannah": 4_600,
    "#g:hannah": 4_600,
    "#l:kelly": 9_000,
  });
  const judge = (a: People.ContactInput, b: People.ContactInput) => People.compare(profile(a), profile(b), world);

  it("a typo of a formal name is a typo of its nickname too: jaes (470) is james (114,000) mistyped, which jim stands for", () => {
    const home = { last_name: "Kelly", street: "640 Sunset St", zip: "85089", phone: "620-577-7996" };
    expect(judge({ first_name: "Jaes", ...home }, { first_name: "Jim", ...home })).toMatchObject({
      reason: "exact: phone",
    });
    // Two established names stay two names, nicknames or not: Mark and Mary at one landline.
    expect(judge({ first_name: "Mark", ...home }, { first_name: "Mary", ...home })).toBeNull();
  });

  it("two rare spellings two edits apart are one name beside a shared landline or home, not beside a namesake's date of birth", () => {
    const home = { last_name: "Smith", street: "6305 Hickory St", zip: "55412", phone: "918-565-1897" };
    expect(judge({ first_name: "Hannaah", ...home }, { first_name: "Haneah", ...home })).toMatchObject({
      reason: "exact: phone",
    });
    const born = { last_name: "Smith", dob: "1970-03-04" };
    expect(
      judge({ first_name: "Hannaah", ...born, zip: "55412" }, { first_name: "Haneah", ...born, zip: "02116" }),
    ).toBeNull();
    // In a small population every name is rare: there two edits are two names, as before.
    expect(
      People.compare(profile({ first_name: "Hannaah", ...home }), profile({ first_name: "Haneah", ...home })),
    ).toBeNull();
  });

  it("learns how often one person's records differ in a contact point from the pairs an e-mail or a phone anchors", () => {
    // 2,000 people, two records each sharing the e-mail and the given name (the home's and the phone's anchor), and the
    // phone, names and date of birth (the e-mail's anchor). Settled: nothing differs. Moving: every pair moved and
    // changed its number.
    const people = (moving: boolean) =>
      Array.from({ length: 2000 }, (_, i) => {
        const person = {
          first: "ann",
          formal: "ann",
          last: `lee${i}`,
          dob: "1970-03-04",
          email: `ann${i}@example.com`,
        };
        return [
          { ...person, zip5: "02116", phone: `+1617555${i}`, phone7: `555${i}` },
          moving
            ? { ...person, zip5: "60601", phone: `+1312666${i}`, phone7: `666${i}` }
            : { ...person, zip5: "02116", phone: `+1617555${i}`, phone7: `555${i}` },
        ];
      }).flat();
    const anchors = (f: People.Frequencies) => Object.fromEntries([...f.entries()].filter(([k]) => /^#a/.test(k)));
    const settled = new People.Frequencies(),
      moving = new People.Frequencies();
    for (const r of people(false)) settled.count(r);
    for (const r of people(true)) moving.count(r);
    const emails = anchors(settled)["#az"]!,
      phones = anchors(settled)["#ae"]!;
    // One 16th of the e-mails and phones is sampled (by a hash of the value): about 125 people of 2,000.
    for (const n of [emails, phones]) {
      expect(n).toBeGreaterThan(80);
      expect(n).toBeLessThan(180);
    }
    expect(anchors(settled)).toEqual({ "#az": emails, "#ap": emails, "#ae": phones });
    expect(anchors(moving)).toEqual({ "#az": emails, "#az!": emails, "#ap": emails, "#ap!": emails });
    // 1 / the share that differs, with a prior of 50 pairs at 1 in 5 (1 in 25 for an e-mail), never below the prior.
    expect(settled.differenceOdds("home")).toBeCloseTo((emails + 50) / 10);
    expect(settled.differenceOdds("phone")).toBeCloseTo((emails + 50) / 10);
    expect(settled.differenceOdds("email")).toBeCloseTo((phones + 50) / 2);
    expect([moving.differenceOdds("home"), moving.differenceOdds("phone"), moving.differenceOdds("email")]).toEqual([
      5, 5, 25,
    ]);
    // The same for any order of the records.
    const reversed = new People.Frequencies();
    for (const r of people(false).reverse()) reversed.count(r);
    expect([...reversed.entries()].sort()).toEqual([...settled.entries()].sort());
  });

  it("a group past 50 records on one mailbox anchors nothing, in whatever order its records come", () => {
    const f0 = new People.Frequencies();
    let n = 0;
    const ann = (email: string) => profile({ first_name: "Ann", last_name: "Lee", email, zip: "02116" });
    while (f0.anchoring(ann(`office${n}@example.com`)).email === null) n++;
    // 60 Anns on one sampled mailbox, the first 50 in one ZIP, the last 10 in others; and one true pair beside them.
    const shared = Array.from({ length: 60 }, (_, i) =>
      profile({
        first_name: "Ann",
        last_name: `Doe${i}`,
        email: `office${n}@example.com`,
        zip: i < 50 ? "02116" : "60601",
      }),
    );
    const anchors = (records: ReturnType<typeof profile>[]) => {
      const f = new People.Frequencies();
      for (const r of records) f.count(r);
      return Object.fromEntries([...f.entries()].filter(([k]) => /^#a/.test(k)));
    };
    expect(anchors(shared)).toEqual({});
    expect(anchors([...shared].reverse())).toEqual({});
    // 50 members still anchor: their 1,225 pairs, none differing.
    expect(anchors(shared.slice(0, 50))).toEqual({ "#az": 1225 });
    expect(anchors([...shared.slice(10)].reverse())).toEqual({ "#az": 1225, "#az!": 400 });
  });

  it("a ZIP that differs weighs what the population's anchored pairs say: near-proof of two people where nobody moves", () => {
    const mary = { first_name: "Mary", last_name: "Smith", dob: "1970-03-04" };
    const a = profile({ ...mary, street: "12 Elm Street", zip: "02116" }),
      b = profile({ ...mary, street: "9 Oak Road", zip: "60601" });
    const counts = {
      "#": 190_000,
      "#f": 190_000,
      "#g": 190_000,
      "#l": 190_000,
      "#d": 190_000,
      "#z": 190_000,
      "#f:mary": 6_000,
      "#g:mary": 6_000,
      "#l:smith": 3_000,
      "#d:1970-03-04": 10,
    };
    const moving = new People.Frequencies(),
      settled = new People.Frequencies();
    // 3,000 anchored pairs with a ZIP on both: a quarter moved (odds 4: the prior, 5, stays), or none did.
    moving.load([...Object.entries(counts), ["#az", 3_000], ["#az!", 750]]);
    settled.load([...Object.entries(counts), ["#az", 3_000]]);
    expect(moving.differenceOdds("home")).toBe(5);
    expect(settled.differenceOdds("home")).toBeCloseTo(305);
    expect(People.compare(a, b, moving)).toMatchObject({ reason: "strong: first + last + date of birth" });
    expect(People.compare(a, b, settled)).toBeNull();
  });

  it("a phone's area code that does not go with the other record's ZIP3 weighs as another home", () => {
    // Mary Smith born one day, one record known by a phone, the other by an address: 0.1 namesakes expected by chance.
    const mary = { first_name: "Mary", last_name: "Smith", dob: "1970-03-04" };
    const byPhone = profile({ ...mary, phone: "(617) 555-0101" });
    const counts: [string, number][] = [
      ["#", 190_000],
      ["#f", 190_000],
      ["#g", 190_000],
      ["#l", 190_000],
      ["#d", 190_000],
      ["#z", 190_000],
      ["#f:mary", 6_000],
      ["#g:mary", 6_000],
      ["#l:smith", 3_000],
      ["#d:1970-03-04", 200],
    ];
    // 617 goes with 021 (90 of its 100 records with a ZIP) and 024 (10), not with 606 (1 in 100: under 1 in 10).
    const regions = new People.Frequencies();
    regions.load([...counts, ["#r:617|021", 89], ["#r:617|024", 10], ["#r:617|606", 1], ["#r", 100]]);
    expect([
      regions.areaGoesWith("+16175550101", "02116"),
      regions.areaGoesWith("+16175550101", "02451"),
      regions.areaGoesWith("+16175550101", "60601"),
      regions.areaGoesWith("+13125550101", "60601"),
    ]).toEqual([true, true, false, null]);
    const at = (zip: string) => profile({ ...mary, street: "9 Oak Road", zip });
    expect(People.compare(byPhone, at("60601"), regions)).toBeNull();
    expect(People.compare(at("60601"), byPhone, regions)).toBeNull();
    expect(People.compare(byPhone, at("02116"), regions)).toMatchObject({
      reason: "strong: first + last + date of birth",
    });
    // Fewer than 20 records of the area code with a ZIP say nothing: the pair links as before.
    const few = new People.Frequencies();
    few.load([...counts, ["#r:617|021", 18], ["#r:617|606", 1], ["#r", 19]]);
    expect(People.compare(byPhone, at("60601"), few)).toMatchObject({ reason: "strong: first + last + date of birth" });
    // Both phones (or both ZIPs) on the records: they are compared directly, the area code is not asked.
    expect(
      People.compare(profile({ ...mary, phone: "(617) 555-0101", zip: "60601" }), at("60601"), regions),
    ).toMatchObject({ reason: "strong: first + last + ZIP" });
  });

  it("counts area codes by ZIP3 as it counts names, the same in any order and as the database loads them", () => {
    const records = [
      { first: "mary", formal: "mary", last: "smith", dob: null, zip5: "02116", phone: "+16175550101" },
      { first: "ann", formal: "ann", last: "jones", dob: null, zip5: "02451", phone: "+16175550102" },
      { first: "bob", formal: "robert", last: "lee", dob: null, zip5: "60601", phone: "+16175550103" },
      { first: "bob", formal: "robert", last: "lee", dob: null, zip5: null, phone: "+16175550103" },
      { first: "jo", formal: "jo", last: "kim", dob: null, zip5: "60601", phone: "+442071234567" },
    ];
    expect(records.map((r) => People.regionKey(r))).toEqual(["#r:617|021", "#r:617|024", "#r:617|606", null, null]);
    const forward = new People.Frequencies(),
      backward = new People.Frequencies();
    for (const r of records) forward.count(r);
    for (const r of [...records].reverse()) backward.count(r);
    const regions = (f: People.Frequencies) => Object.fromEntries([...f.entries()].filter(([k]) => k.startsWith("#r")));
    expect(regions(forward)).toEqual({ "#r": 3, "#r:617|021": 1, "#r:617|024": 1, "#r:617|606": 1 });
    expect(regions(backward)).toEqual(regions(forward));
    expect(People.frequencyKeys(records[0]!)).toContain("#r:617|021");
    // As the database path builds them: every record's frequencyKeys added, or the stored rows loaded.
    const added = new People.Frequencies(),
      loaded = new People.Frequencies();
    for (const r of records) for (const key of People.frequencyKeys(r)) added.add(key, 1);
    loaded.load(forward.entries());
    expect(regions(added)).toEqual(regions(forward));
    expect(loaded.get("#r:617|606")).toBe(1);
    forward.count(records[2]!, -1);
    expect(regions(forward)).toEqual({ "#r": 2, "#r:617|021": 1, "#r:617|024": 1 });
  });

  it("a phone with two digits swapped is the same number only in the same area code", () => {
    const mary = { first_name: "Mary", last_name: "Jones" };
    expect(judge({ ...mary, phone: "819-499-7936" }, { ...mary, phone: "819-499-7396" })).toMatchObject({
      reason: "fuzzy: first + last + phone with two digits swapped",
    });
    expect(judge({ ...mary, phone: "819-499-7936" }, { ...mary, phone: "627-499-7396" })).toBeNull();
  });

  it("counts values and totals, takes them away again, and lists only what is not zero", () => {
    const f = new People.Frequencies();
    const bob = { first: "bob", formal: "robert", last: "smith", dob: null, zip5: "02116" },
      ann = { first: "ann", formal: "ann", last: "smith", dob: "1970-03-04", zip5: null };
    f.count(bob);
    f.count(ann);
    f.load([["#x", 2]]);
    expect(Object.fromEntries(f.entries())).toEqual({
      "#": 2,
      "#f": 2,
      "#g": 2,
      "#l": 2,
      "#d": 1,
      "#z": 1,
      "#x": 2,
      "#f:bob": 1,
      "#f:ann": 1,
      "#g:robert": 1,
      "#g:ann": 1,
      "#l:smith": 2,
      "#d:1970-03-04": 1,
      "#z:02116": 1,
    });
    expect([f.records, f.get("#l"), f.get("#l:smith"), f.get("#x"), f.countOf("g", "robert")]).toEqual([2, 2, 2, 2, 1]);
    expect(f.share("l", "smith")).toBeCloseTo((2 + 1000 / 10_000) / (2 + 1000));
    f.count(bob, -1);
    f.count(ann, -1);
    expect(Object.fromEntries(f.entries())).toEqual({ "#x": 2 });
    expect([f.records, f.countOf("l", "smith")]).toEqual([0, 0]);
  });

  it("a common name with the same ZIP alone is a namesake to expect (James Smith: ~2.6 by chance); a rare one is not (Kwame Okafor)", () => {
    expect(
      judge(
        { first_name: "James", last_name: "Smith", zip: "02116", phone: "617-555-0101" },
        { first_name: "James", last_name: "Smith", zip: "02116" },
      ),
    ).toBeNull();
    expect(
      judge(
        { first_name: "Kwame", last_name: "Okafor", zip: "02116", phone: "617-555-0101" },
        { first_name: "Kwame", last_name: "Okafor", zip: "02116" },
      ),
    ).toEqual({ score: 0.95, tier: "strong", reason: "strong: first + last + ZIP" });
    // Without the population's counts the same pair links (a short list says nothing about how common a name is).
    expect(
      verdict(
        { first_name: "James", last_name: "Smith", zip: "02116", phone: "617-555-0101" },
        { first_name: "James", last_name: "Smith", zip: "02116" },
      ),
    ).not.toBeNull();
  });

  it("the same name and birthday: rare names link even across a move and a new number, common ones not even across one difference", () => {
    const moved = (first: string, last: string) =>
      [
        { first_name: first, last_name: last, dob: "1970-03-04", zip: "02116", phone: "617-555-0101" },
        { first_name: first, last_name: last, dob: "1970-03-04", zip: "80202", phone: "720-555-0199" },
      ] as const;
    expect(judge(...moved("Kwame", "Okafor"))).toEqual({
      score: 0.95,
      tier: "strong",
      reason: "strong: first + last + date of birth",
    });
    expect(judge(...moved("James", "Smith"))).toBeNull();
    expect(
      judge(
        { first_name: "James", last_name: "Smith", dob: "1970-03-04", zip: "02116" },
        { first_name: "James", last_name: "Smith", dob: "1970-03-04", zip: "80202" },
      ),
    ).toBeNull();
  });

  it("a mailbox that differs weighs 25 to 1 against one person; one edit apart (a typo, or a namesake's mailbox) weighs nothing", () => {
    // Natalie Taylor born 1970-03-04: 0.002 namesakes by chance; a move and a new number make it 0.05.
    const moved = {
      first_name: "Natalie",
      last_name: "Taylor",
      dob: "1970-03-04",
      zip: "80202",
      phone: "720-555-0199",
      email: "natalie.taylor1976@gmail.com",
    };
    const before = { ...moved, zip: "02116", phone: "617-555-0101" };
    const dobRule = { score: 0.95, tier: "strong", reason: "strong: first + last + date of birth" };
    expect(judge({ ...before, email: "natalie.tayolr1976@gmail.com" }, moved)).toEqual(dobRule);
    expect(judge({ ...before, email: "natalie.taylor976@gmail.com" }, moved)).toEqual(dobRule);
    // Another mailbox besides: 0.05 x 25 = 1.2 namesakes to expect.
    expect(judge({ ...before, email: "ntaylor@yahoo.com" }, moved)).toBeNull();
    expect(judge({ ...before, email: "natalie.taylor1976@yahoo.com" }, moved)).toBeNull();
    // Without the move and the new number, the other mailbox alone leaves 0.002 x 25.
    const { zip: _z, phone: _p, ...named } = moved;
    expect(judge({ ...named, email: "ntaylor@yahoo.com" }, named)).toEqual(dobRule);
  });

  it("a ZIP missing on one side, another house and street or another city is another home, as another ZIP is", () => {
    // James Taylor born 1970-03-04: 0.057 namesakes by chance; a new number makes it 0.28, a move besides 1.4.
    const before = {
      first_name: "James",
      last_name: "Taylor",
      dob: "1970-03-04",
      phone: "617-555-0101",
      street: "12 Elm St",
      city: "Boston",
      state: "MA",
      zip: "02116",
    };
    const after = { first_name: "James", last_name: "Taylor", dob: "1970-03-04", phone: "720-555-0199" };
    const dobRule = { score: 0.95, tier: "strong", reason: "strong: first + last + date of birth" };
    expect(judge(before, after)).toEqual(dobRule);
    expect(judge(before, { ...after, street: "12 Elm Street", city: "Boston" })).toEqual(dobRule);
    expect(judge(before, { ...after, street: "9 Oak Ave", city: "Boston" })).toBeNull();
    expect(judge(before, { ...after, city: "Denver", state: "CO" })).toBeNull();
    expect(judge(before, { ...after, zip: "80202" })).toBeNull();
  });

  it("at one home, a relative may bear a common given name: James Smith twice with different e-mails and phones is two people", () => {
    const home = { last_name: "Smith", street: "12 Elm St", zip: "02116" };
    expect(
      judge(
        { ...home, first_name: "James", email: "js1@example.com", phone: "617-555-0101" },
        { ...home, first_name: "Jim", email: "js2@example.com", phone: "617-555-0199" },
      ),
    ).toBeNull();
    expect(
      judge(
        { ...home, first_name: "James", email: "js1@example.com" },
        { ...home, first_name: "Jim", phone: "617-555-0199" },
      ),
    ).toEqual({ score: 0.95, tier: "strong", reason: "strong: first + last + ZIP (nickname)" });
  });

  it("a rare spelling one letter from an established name is a typo of it (Lri / Lori); two established names are two people (Mark / Mary, Hall / Hill)", () => {
    const home = { last_name: "Mason", street: "9244 Main Way", zip: "32851", phone: "388-320-7933" };
    expect(judge({ ...home, first_name: "Lori" }, { ...home, first_name: "Lri" })).toEqual({
      score: 0.97,
      tier: "exact",
      reason: "exact: phone",
    });
    expect(judge({ ...home, first_name: "Mark" }, { ...home, first_name: "Mary" })).toBeNull();
    expect(
      judge(
        { first_name: "Mary", last_name: "Hall", email: "maryhall@icloud.com", zip: "32817" },
        { first_name: "Mary", last_name: "Hill", email: "maryhill@icloud.com", zip: "32817" },
      ),
    ).toBeNull();
  });

  it("a new surname at the same home with the same, not too common, given name and nothing else differing (marriage)", () => {
    const home = { street: "7934 Pine St", city: "Las Vegas", state: "NV", zip: "89104" };
    expect(
      judge(
        { ...home, first_name: "Natalie", last_name: "Mason", email: "natalie_taylor5476@gmail.com" },
        { ...home, first_name: "Natalie", last_name: "Taylor", dob: "7/18/63" },
      ),
    ).toEqual({ score: 0.88, tier: "strong", reason: "strong: first + address (surname differs)" });
    // James is 6 % of given names: with a phone that differs too, a namesake at that address is likelier than a marriage.
    expect(
      judge(
        { ...home, first_name: "James", last_name: "Mason", phone: "702-555-0101" },
        { ...home, first_name: "James", last_name: "Taylor", phone: "702-555-0199" },
      ),
    ).toBeNull();
  });

  it("frequencies count a record's values and their totals, and estimate a share with a prior worth 1,000 records", () => {
    const f = new People.Frequencies();
    const p = profile({ first_name: "Bob", last_name: "Smith", dob: "1970-03-04", zip: "02116" });
    expect(People.frequencyKeys(p)).toEqual(["#f:bob", "#g:robert", "#l:smith", "#d:1970-03-04", "#z:02116"]);
    f.count(p);
    f.count(p);
    expect([f.records, f.get("#g:robert"), f.get("#g"), f.get("#f:bob")]).toEqual([2, 2, 2, 2]);
    expect(f.share("g", "robert")).toBeCloseTo((2 + 1) / (2 + 1000), 12);
    f.count(p, -1);
    expect([f.records, f.get("#g:robert")]).toEqual([1, 1]);
  });

  it("the matcher counts what it is given, so a batch primed beforehand links as the database path does", () => {
    const rows = [
      { first_name: "James", last_name: "Smith", zip: "02116", phone: "617-555-0101" },
      { first_name: "James", last_name: "Smith", zip: "02116" },
    ].map(profile);
    const m = new People.Matcher({ frequencies: world });
    for (const r of rows) m.add(r);
    expect(m.links).toEqual([]);
    expect(world.records).toBe(1_900_000);
  });
});

describe("the matcher", () => {
  const rows = [
    { id: "a", input: { first_name: "Robert", last_name: "Smith", email: "rs@example.com" } },
    { id: "b", input: { first_name: "Linda", last_name: "Jones", phone: "212-555-0199" } },
    { id: "c", input: { first_name: "Bob", last_name: "Smith", email: "RS@example.com", zip: "02116" } },
    { id: "d", input: { first_name: "Robert", last_name: "Smith", zip: "02116", dob: "1970-01-01" } },
    { id: "e", input: { first_name: "Linda", last_name: "Jones", phone: "(212) 555-0199" } },
  ];
  it("links through chains and names each cluster after its first row, whatever the order", () => {
    const expected = { a: "a", b: "b", c: "a", d: "a", e: "b" } as Record<string, string>;
    const forward = Matching.clusterContacts(rows).rows;
    expect(Object.fromEntries(forward.map((r) => [r.id, r.clusterId]))).toEqual(expected);
    expect(forward.map((r) => [r.id, r.score, r.reason])).toEqual([
      ["a", 1, "exact: e-mail"],
      ["b", 0.97, "exact: phone"],
      ["c", 1, "exact: e-mail"],
      ["d", 0.95, "strong: first + last + ZIP (nickname)"],
      ["e", 0.97, "exact: phone"],
    ]);
    // Reversed input: the same partition (cluster names follow the new first rows).
    const backward = Matching.clusterContacts([...rows].reverse()).rows;
    const partition = (rs: Matching.ClusteredRow[]) => {
      const groups = new Map<string, string[]>();
      for (const r of rs) groups.set(r.clusterId, [...(groups.get(r.clusterId) ?? []), r.id].sort());
      return [...groups.values()].sort();
    };
    expect(partition(backward)).toEqual(partition(forward));
    expect(partition(forward)).toEqual([
      ["a", "c", "d"],
      ["b", "e"],
    ]);
  });

  it("never clusters two dates of birth that differ: a record without one links both, the stronger link wins", () => {
    // Two James Wilsons at one house, born 1961 and 1987, and a record of that name at the house without a date: the
    // pair rules link it to both, and the components would hold both men.
    const house = { last_name: "Wilson", street: "2901 Church Rd", city: "Louisville", state: "KY", zip: "40202" };
    const list = [
      { id: "father", input: { ...house, first_name: "James", dob: "1961-05-02", phone: "502-555-0101" } },
      { id: "son", input: { ...house, first_name: "James", dob: "1987-09-14", phone: "502-555-0177" } },
      { id: "undated", input: { ...house, first_name: "James", phone: "502-555-0177" } },
      { id: "father-again", input: { ...house, first_name: "Jim", dob: "1961-05-02" } },
    ];
    const m = new People.Matcher();
    for (const r of list) m.add(profile(r.input));
    expect(new Set(list.map((_r, i) => m.find(i))).size).toBe(1);
    const ids = list.map((r) => r.id);
    const clusters = Array.from(m.clusters(), (root) => ids[root]);
    // "undated" shares the son's phone: that link (exact: phone, 0.97) is stronger than its name + house one with the father.
    expect(clusters).toEqual(["father", "son", "son", "father"]);
    expect(Object.fromEntries(Matching.clusterContacts(list).rows.map((r) => [r.id, r.clusterId]))).toEqual({
      father: "father",
      son: "son",
      undated: "son",
      "father-again": "father",
    });
    // A steward's merge (union) is kept whatever the dates say.
    m.union(0, 1);
    expect(new Set(m.clusters()).size).toBe(1);
  });

  it("never clusters two middle initials or two generations: Robert J. Smith Jr. and Sr. at one house are two men", () => {
    const house = { last_name: "Smith", street: "12 Elm Street", city: "Boston", state: "MA", zip: "02116" };
    const list = [
      { id: "junior", input: { ...house, first_name: "Robert", suffix: "Jr.", phone: "617-555-0101" } },
      { id: "senior", input: { ...house, first_name: "Robert", suffix: "Sr", phone: "617-555-0177" } },
      { id: "plain", input: { ...house, first_name: "Robert", phone: "617-555-0177" } },
      { id: "the-second", input: { ...house, first_name: "Bob", last_name: "Smith II", email: "bob@example.com" } },
      { id: "middle-j", input: { ...house, first_name: "Anna", middle_name: "J.", dob: "1990-01-02" } },
      { id: "middle-jane", input: { ...house, first_name: "Anna", middle_name: "Jane" } },
      { id: "middle-k", input: { ...house, first_name: "Anna", middle_name: "Kay", email: "anna@example.com" } },
      { id: "anna", input: { ...house, first_name: "Anna", email: "anna@example.com", dob: "1990-01-02" } },
    ];
    const ids = list.map((r) => r.id);
    const m = new People.Matcher();
    for (const r of list) m.add(profile(r.input));
    // "plain" links Jr. and Sr. (it shares the senior's phone, and the house with both); "anna" links J. and K. (its e-mail is K.'s)
    expect(new Set(list.map((_r, i) => m.find(i))).size).toBe(2);
    const clusters = Array.from(m.clusters(), (root) => ids[root]);
    expect(clusters).toEqual(["junior", "senior", "senior", "junior", "middle-j", "middle-j", "middle-k", "middle-k"]);
    expect(Object.fromEntries(Matching.clusterContacts(list).rows.map((r) => [r.id, r.clusterId]))).toEqual(
      Object.fromEntries(ids.map((id, i) => [id, clusters[i]])),
    );
    // The pair rules refuse them outright; a degree is no generation.
    expect(verdict(list[0]!.input, list[1]!.input)).toBeNull();
    expect(verdict(list[5]!.input, list[6]!.input)).toBeNull();
    expect(verdict(list[4]!.input, list[5]!.input)).not.toBeNull();
    expect(verdict({ ...list[0]!.input, suffix: "MD" }, list[1]!.input)).not.toBeNull();
    expect(["Jr.", "II", "Sr.", "III", "PhD", null].map((s) => People.generationOf(s))).toEqual([
      "2",
      "2",
      "1",
      "3",
      null,
      null,
    ]);
  });

  it("never clusters two parts whose mailboxes all differ and whose phones or ZIPs do too; a shared phone keeps two mailboxes one person", () => {
    // Father and son James Smith at one house, each with his own mailbox and phone; a record of the name at the house
    // with neither links to both.
    const house = { last_name: "Smith", street: "12 Elm Street", city: "Boston", state: "MA", zip: "02116" };
    const list = [
      {
        id: "father",
        input: { ...house, first_name: "James", email: "james.smith1961@gmail.com", phone: "617-555-0101" },
      },
      { id: "son", input: { ...house, first_name: "James", email: "jsmith.boston@yahoo.com", phone: "617-555-0177" } },
      { id: "bare", input: { ...house, first_name: "Jim" } },
      // One woman with two mailboxes and one phone; one of them mistyped once (one edit: still hers).
      {
        id: "work",
        input: { first_name: "Kwame", last_name: "Okafor", email: "kokafor@acme.com", phone: "303-555-0140" },
      },
      {
        id: "home",
        input: { first_name: "Kwame", last_name: "Okafor", email: "kwame.okafor@gmail.com", phone: "303-555-0140" },
      },
      { id: "typo", input: { first_name: "Kwame", last_name: "Okafor", email: "kwame.okafr@gmail.com", zip: "80202" } },
    ];
    const ids = list.map((r) => r.id);
    const m = new People.Matcher();
    for (const r of list) m.add(profile(r.input));
    expect(new Set(list.map((_r, i) => m.find(i))).size).toBe(2);
    const clusters = Array.from(m.clusters(), (root) => ids[root]);
    expect(clusters.slice(0, 2)).toEqual(["father", "son"]);
    expect(["father", "son"]).toContain(clusters[2]);
    expect(clusters.slice(3)).toEqual(["work", "work", "work"]);
    expect(Object.fromEntries(Matching.clusterContacts(list).rows.map((r) => [r.id, r.clusterId]))).toEqual(
      Object.fromEntries(ids.map((id, i) => [id, clusters[i]])),
    );
  });

  it("splits conflicting clusters the same way for any order of the records", () => {
    const recs = [...syntheticPeople({ people: 15_000, seed: "conflicts" })];
    const profiles = recs.map((r) => People.profileOf(People.standardizeContact(r.input)));
    const frequencies = new People.Frequencies();
    for (const p of profiles) frequencies.count(p);
    const partition = (order: number[]) => {
      const m = new People.Matcher({ frequencies });
      for (const i of order) m.add(profiles[i]!);
      const clusters = m.clusters();
      const groups = new Map<number, string[]>();
      order.forEach((i, k) => groups.set(clusters[k]!, [...(groups.get(clusters[k]!) ?? []), recs[i]!.id]));
      const split = order.filter((_i, k) => clusters[k] !== m.find(k)).length;
      return { groups: [...groups.values()].map((g) => g.sort().join(" ")).sort(), split };
    };
    const forward = partition(recs.map((_r, i) => i));
    expect(forward.split).toBeGreaterThan(0);
    expect(partition(recs.map((_r, i) => recs.length - 1 - i)).groups).toEqual(forward.groups);
    let seed = 7;
    const shuffled = recs.map((_r, i) => i);
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const j = seed % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    expect(partition(shuffled).groups).toEqual(forward.groups);
  });

  it("guards against huge blocks: past maxBlock a block takes no more records and says so", () => {
    const m = new People.Matcher({ maxBlock: 3 });
    for (let i = 0; i < 5; i++)
      m.add(profile({ first_name: "John", last_name: "Smith", zip: "10001", street: "1 Main St" }));
    expect(m.oversized.get("z:john|smith|10001")).toBe(2);
    expect(m.links.length).toBe(3);
  });

  it("links and clusters the same whatever the size of its pages (runs that would span a page start a new one)", () => {
    const profiles = [...syntheticPeople({ people: 3000, seed: "pages" })].map((r) =>
      People.profileOf(People.standardizeContact(r.input)),
    );
    // pageBits 5: pages of 32 run entries and 2 links, a guard of 8 here (runs of 4 and 8 entries; the runs of 16 that cross
    // page ends are the next test's); pageBits 20 is the default.
    const [small, large] = [new People.Matcher({ maxBlock: 8, pageBits: 5 }), new People.Matcher({ maxBlock: 8 })];
    for (const p of profiles) {
      small.add(p);
      large.add(p);
    }
    expect(large.links.length).toBeGreaterThan(2000);
    expect(small.links).toEqual(large.links);
    expect(profiles.map((_p, i) => small.find(i))).toEqual(profiles.map((_p, i) => large.find(i)));
    expect([...small.oversized]).toEqual([...large.oversized]);
    expect(large.oversized.size).toBeGreaterThan(0);
  });

  it("keeps every member of blocks whose runs are moved between small pages", () => {
    // 41 groups of 13 records; a group shares only its e-mail (given names with other initials, no address, phone or
    // birthday), so each pair is compared in that one block and links "exact: e-mail". Added round-robin, the groups' runs
    // (4, 8, then 16 entries; 41 runs of 4 put the later ones off the pages' grid) would span 32-entry pages: a member lost
    // from a run loses links.
    const given = [
      "Alice",
      "Brian",
      "Carol",
      "David",
      "Emily",
      "Frank",
      "Grace",
      "Henry",
      "Irene",
      "James",
      "Karen",
      "Louis",
      "Maria",
    ];
    const matchers = [new People.Matcher({ maxBlock: 16, pageBits: 5 }), new People.Matcher({ maxBlock: 16 })];
    for (const name of given) {
      for (let g = 0; g < 41; g++) {
        const p = profile({ first_name: name, last_name: "Okafor", email: `group${g}@example.com` });
        for (const m of matchers) m.add(p);
      }
    }
    for (const m of matchers) {
      expect(m.links.length).toBe((41 * (13 * 12)) / 2);
      expect(new Set(m.links.map((l) => l.reason))).toEqual(new Set(["exact: e-mail"]));
      expect(Array.from({ length: 41 * 13 }, (_x, i) => m.find(i))).toEqual(
        Array.from({ length: 41 * 13 }, (_x, i) => i % 41),
      );
      expect(m.oversized.size).toBe(0);
    }
  });

  it("refuses a block guard a page cannot hold, or that is no whole number", () => {
    expect(() => new People.Matcher({ maxBlock: 16, pageBits: 5 })).not.toThrow();
    expect(() => new People.Matcher({ maxBlock: 17, pageBits: 5 })).toThrow(
      "the block guard must be a whole number from 1 to 16 (got 17)",
    );
    expect(() => new People.Matcher({ maxBlock: 524_289 })).toThrow("from 1 to 524,288 (got 524289)");
    expect(() => new People.Matcher({ maxBlock: Number("abc") })).toThrow("(got NaN)");
    expect(() => new People.Matcher({ maxBlock: 0 })).toThrow("(got 0)");
    expect(People.MAX_BLOCK_LIMIT).toBe(524_288);
    for (const pageBits of [4, 21, 5.5])
      expect(() => new People.Matcher({ pageBits })).toThrow(
        `pageBits must be a whole number from 5 to 20 (got ${pageBits})`,
      );
  });

  it("hashes a record's blocking keys in blockKeys' order, and addKeyed with them is add", () => {
    const p = profile({ ...robert, first_name: "Steve", phone: "(617) 555-0110", ids: { member: "7" } });
    // Every key of either role once (a key of both roles is in both lists).
    const keys = [...new Set([...People.blockKeys(p, "index"), ...People.blockKeys(p, "probe")])];
    const hashes = [1, 2];
    expect(People.blockKeyHashes(p, hashes)).toBe(keys.length);
    expect(hashes.slice(0, 2)).toEqual([1, 2]);
    expect(new Set(hashes.slice(2)).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThan(12);
    const john = profile({ first_name: "John", last_name: "Smith", zip: "10001", street: "1 Main St" });
    const batch = Matching.keyedBatch(Array(5).fill(john) as People.MatchProfile[]);
    const [a, b] = [new People.Matcher({ maxBlock: 3 }), new People.Matcher({ maxBlock: 3 })];
    for (let i = 0; i < 5; i++) {
      a.add(john);
      expect(b.addKeyed(john, batch.keys, batch.keyStarts[i]!, batch.keyStarts[i + 1]!)).toBe(i);
    }
    expect(b.links).toEqual(a.links);
    expect([...b.oversized]).toEqual([...a.oversized]);
    expect(b.oversized.get("z:john|smith|10001")).toBe(2);
  });
});

describe("pairwise accuracy", () => {
  it("counts pairs from cluster sizes", () => {
    // truth: {0,1,2} {3,4}; predicted: {0,1} {2,3,4}
    expect(Matching.pairwiseScores([1, 1, 1, 2, 2], ["x", "x", "y", "y", "y"])).toEqual({
      truePairs: 4,
      predictedPairs: 4,
      correctPairs: 2,
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
    });
    expect(Matching.pairwiseScores([1, 2], [1, 2])).toMatchObject({ precision: 1, recall: 1, f1: 1 });
  });

  it("the engine finds the synthetic people (2,000) with pairwise F1 above 0.97 and precision above 0.99", () => {
    const recs = [...syntheticPeople({ people: 2000, seed: "unit" })];
    const clustered = Matching.clusterContacts(recs);
    const s = Matching.pairwiseScores(
      recs.map((r) => r.personId),
      clustered.rows.map((r) => r.clusterId),
    );
    expect(recs.length).toBe(3833);
    expect(s.precision).toBeGreaterThan(0.99);
    expect(s.f1).toBeGreaterThan(0.97);
  });
});

describe("leadpipe match", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-match-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const file = path.join(tmp, "list.csv");
  writeFileSync(
    file,
    [
      "Ref,Given Name,Surname,E-mail Address,Mobile,Address 1,Town,Postcode,Birthday,Member No",
      "r1,Robert,Smith,rs@example.com,,12 Elm St,Boston,02116,,M-1",
      "r2,Bob,Smith,,617-555-0101,12 Elm Street,Boston,2116,,",
      "r3,Jane,Doe,jane@example.com,,,,,1/2/1980,M-9",
      "r4,J.,Doe,,,,,,,M-9",
      "r5,=cmd(),Smith,not-an-email,,,,,,",
    ].join("\n"),
  );

  it("maps headers by name, writes id, cluster_id, score, reason per row", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const summary = await matchFile(file, out, { identifiers: "Member No" });
    expect(text).toBe(
      [
        "id,cluster_id,score,reason",
        "r1,r1,0.95,strong: first + last + ZIP (nickname)",
        "r2,r1,0.95,strong: first + last + ZIP (nickname)",
        "r3,r3,1,exact: identifier member no",
        "r4,r3,1,exact: identifier member no",
        "r5,r5,,no match",
        "",
      ].join("\n"),
    );
    expect(summary).toMatchObject({ rows: 5, clusters: 3, links: 2, problems: 1, oversizedBlocks: 0 });
  });

  it("takes an explicit mapping and an id column; refuses a mapping to a missing column", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const odd = path.join(tmp, "odd.csv");
    writeFileSync(odd, "A,B,C,D\nx1,Ann,Lee,02116\nx2,Ann,Lee,2116\n");
    await matchFile(odd, out, { id: "D", map: "first_name=B,last_name=C,zip=d" });
    expect(text).toBe(
      "id,cluster_id,score,reason\n02116,02116,0.95,strong: first + last + ZIP\n2116,02116,0.95,strong: first + last + ZIP\n",
    );
    await expect(matchFile(file, new PassThrough(), { map: "zip=PLZ" })).rejects.toThrow(
      'the mapping names column "PLZ" for zip, but the header has no such column',
    );
    await expect(matchFile(file, new PassThrough(), { id: "nope" })).rejects.toThrow("--id nope: no such column");
  });

  it("refuses a --max-block that is no whole number, or more than a block run can hold", async () => {
    const run = (maxBlock: string) =>
      matchCommand()
        .exitOverride()
        .configureOutput({ writeErr: () => {} })
        .parseAsync(["node", "match", file, "--out", path.join(tmp, "never.csv"), "--max-block", maxBlock]);
    await expect(run("2OO")).rejects.toThrow(
      `option '--max-block <n>' argument '2OO' is invalid. expected a whole number from 1 to 524288, got "2OO"`,
    );
    await expect(run("0")).rejects.toThrow("expected a whole number from 1");
    await expect(run("600000")).rejects.toThrow(
      `argument '600000' is invalid. expected a whole number from 1 to 524288, got "600000"`,
    );
  });

  it("standardizes a long list on a worker thread, with the same output and problems as on one thread", async () => {
    const recs = [...syntheticPeople({ people: 1200, seed: "cli-worker" })];
    const long = path.join(tmp, "long.csv");
    const fields = People.CONTACT_FIELDS;
    // Every 50th row has a phone with letters and an e-mail without a domain: problems the output must still count.
    writeFileSync(
      long,
      [
        ["Ref", ...fields].join(","),
        ...recs.map((r, i) =>
          [
            r.id,
            ...fields.map((f) => {
              const v =
                i % 50 === 0 && f === "phone"
                  ? "CALL-ME"
                  : i % 50 === 0 && f === "email"
                    ? "someone@"
                    : (r.input[f] ?? "");
              return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
            }),
          ].join(","),
        ),
      ].join("\n"),
    );
    const run = async (workerFrom: number) => {
      const out = new PassThrough();
      let text = "";
      out.on("data", (d: Buffer) => (text += d.toString()));
      const summary = await matchFile(long, out, { workerFrom });
      return { text, summary };
    };
    const [one, two] = [await run(Infinity), await run(0)];
    expect(two.text).toBe(one.text);
    expect({ ...two.summary, seconds: 0 }).toEqual({ ...one.summary, seconds: 0 });
    expect(one.summary.rows).toBe(recs.length);
    // matchFile lets this thread standardize while the worker loads (all of a list this short): every batch on the worker here.
    const rows = recs.map((r, i) => ({
      id: r.id,
      input: i % 50 === 0 ? { ...r.input, phone: "CALL-ME", email: "someone@" } : r.input,
    }));
    const alone = Matching.clusterContacts(rows);
    const worker = new Matching.ProfileWorker();
    const onWorker = await Matching.clusterContactsOnWorker(rows, {
      parallel: { callerHelps: false, batch: 500, worker },
    });
    expect(onWorker).toEqual(alone);
    expect(alone.rows.filter((r) => r.problems.length > 0).length).toBeGreaterThanOrEqual(Math.ceil(recs.length / 50));
    expect(one.summary.problems).toBeGreaterThanOrEqual(2 * Math.ceil(recs.length / 50));
    expect(one.summary.links).toBeGreaterThan(900);
  });

  it.each([0, Infinity])(
    "says after how many rows a file stops being CSV, and that an empty file has no header (worker from %s rows)",
    async (workerFrom) => {
      const broken = path.join(tmp, "broken.csv");
      const good = Array.from({ length: 2500 }, (_x, i) => `r${i},Ann${i},Lee,a${i}@example.com`);
      writeFileSync(
        broken,
        [
          "Ref,First Name,Last Name,Email",
          ...good,
          'r-bad,"Ann,Lee,x@example.com',
          "r-after,Bo,Lee,b@example.com",
        ].join("\n"),
      );
      await expect(matchFile(broken, new PassThrough(), { workerFrom })).rejects.toThrow(
        new RegExp(
          `^match: ${broken.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not readable CSV after 2500 rows: Quote Not Closed`,
        ),
      );
      const empty = path.join(tmp, "empty.csv");
      writeFileSync(empty, "");
      await expect(matchFile(empty, new PassThrough(), { workerFrom })).rejects.toThrow(
        `match: ${empty} is empty (expected a header row)`,
      );
    },
  );

  it("works from the CLI on a fresh LEADPIPE_HOME", async () => {
    const { execFileSync } = await import("node:child_process");
    const out = path.join(tmp, "clusters.csv");
    execFileSync(
      process.execPath,
      ["--import", "tsx", path.resolve(__dirname, "../../packages/local/src/cli.ts"), "match", file, "--out", out],
      { env: { ...process.env, LEADPIPE_HOME: path.join(tmp, "fresh-home") }, stdio: "pipe" },
    );
    expect(readFileSync(out, "utf8").split("\n").slice(0, 3)).toEqual([
      "id,cluster_id,score,reason",
      "r1,r1,0.95,strong: first + last + ZIP (nickname)",
      "r2,r1,0.95,strong: first + last + ZIP (nickname)",
    ]);
  });
});

describe("standardizing on a worker thread", () => {
  const today = new Date("2026-01-01");
  const recs = [...syntheticPeople({ people: 1500, seed: "worker" })];

  // callerHelps: false sends every batch to the worker (by default this thread standardizes while the worker loads: all of 1,500 rows).
  it.each([false, true])(
    "yields, in input order and in batches, the profiles profileOf(standardizeContact) gives on this thread (callerHelps %s)",
    async (callerHelps) => {
      const batches: People.MatchProfile[][] = [];
      for await (const batch of Matching.standardizedProfiles(
        recs.map((r) => r.input),
        { batch: 400, today, callerHelps },
      ))
        batches.push(batch);
      expect(batches.map((b) => b.length)).toEqual([
        ...Array(Math.floor(recs.length / 400)).fill(400),
        recs.length % 400,
      ]);
      expect(batches.flat()).toEqual(recs.map((r) => People.profileOf(People.standardizeContact(r.input, today))));
    },
  );

  it("takes a worker started ahead (and loaded), with the same profiles", async () => {
    const worker = new Matching.ProfileWorker();
    while (!worker.started) await new Promise((resolve) => setTimeout(resolve, 20));
    const profiles: People.MatchProfile[] = [];
    for await (const batch of Matching.standardizedProfiles(
      recs.map((r) => r.input),
      { batch: 300, today, worker },
    ))
      profiles.push(...batch);
    expect(profiles).toEqual(recs.map((r) => People.profileOf(People.standardizeContact(r.input, today))));
  });

  it("warms up on a sample before it says it has started (a sample that fails only ends the warm-up), with the same profiles", async () => {
    const sample = [...syntheticPeople({ people: 600, seed: "warm-up" })].map((r) => r.input);
    // An input standardizeContact throws on, in the sample's second batch (its first, of 1,000, warms the worker up).
    expect(sample.length).toBeGreaterThan(1000);
    sample.push({ first_name: 42 } as unknown as People.ContactInput);
    const worker = new Matching.ProfileWorker({ warmUp: sample });
    while (!worker.started && !worker.failure) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(worker.failure).toBeNull();
    expect(worker.warmed).toBe(1000);
    const profiles: People.MatchProfile[] = [];
    for await (const batch of Matching.standardizedProfiles(
      recs.map((r) => r.input),
      { batch: 300, today, worker, callerHelps: false },
    ))
      profiles.push(...batch);
    // The sample went through an encoder of its own: the values it met are sent again, and decoded right.
    expect(profiles).toEqual(recs.map((r) => People.profileOf(People.standardizeContact(r.input, today))));
  });

  it("ends the worker when the caller stops early, leaving no failure behind", async () => {
    let seen = 0;
    for await (const batch of Matching.standardizedProfiles(
      recs.map((r) => r.input),
      { batch: 100, today, callerHelps: false },
    )) {
      seen += batch.length;
      if (seen >= 300) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toBe(300);
  });

  it("gives the same profiles when its tables of shared values start over every few batches", async () => {
    const profiles: People.MatchProfile[] = [];
    for await (const batch of Matching.standardizedProfiles(
      recs.map((r) => r.input),
      { batch: 100, today, tableLimit: 150, callerHelps: false },
    ))
      profiles.push(...batch);
    expect(profiles).toEqual(recs.map((r) => People.profileOf(People.standardizeContact(r.input, today))));
  });

  it("shares a repeated value or name list between the profiles it yields", async () => {
    const inputs = [
      { first_name: "Bob", last_name: "Smith-Jones", zip: "02116" },
      { first_name: "Bob", last_name: "Smith-Jones", zip: "02116" },
    ];
    const profiles: People.MatchProfile[] = [];
    for await (const batch of Matching.standardizedProfiles(inputs, { callerHelps: false })) profiles.push(...batch);
    const [a, b] = profiles;
    expect(a!.formals).toEqual(["robert"]);
    expect(b!.formals).toBe(a!.formals);
    expect(b!.lastParts).toBe(a!.lastParts);
    expect(a!.lastParts).toEqual(["smith", "jones"]);
  });

  it("the matcher keeps what it was given: the same clusters and links either way, and each profile as added", async () => {
    const one = new People.Matcher(),
      two = new People.Matcher();
    const profiles = recs.map((r) => People.profileOf(People.standardizeContact(r.input, today)));
    for (const p of profiles) one.add(p);
    for await (const batch of Matching.standardizedProfiles(
      recs.map((r) => r.input),
      { today, callerHelps: false },
    ))
      for (const p of batch) two.add(p);
    expect(two.links).toEqual(one.links);
    expect(recs.map((_r, i) => two.find(i))).toEqual(recs.map((_r, i) => one.find(i)));
    expect(one.links.length).toBeGreaterThan(1000);
    expect(profiles.map((_p, i) => one.profile(i))).toEqual(profiles);
  });

  it.each([false, true])(
    "hashes the blocking keys on the worker: addKeyed with them gives add's clusters and links (callerHelps %s)",
    async (callerHelps) => {
      const one = new People.Matcher(),
        two = new People.Matcher();
      for (const r of recs) one.add(People.profileOf(People.standardizeContact(r.input, today)));
      for await (const { profiles, keys, keyStarts } of Matching.standardizedBatches(
        recs.map((r) => r.input),
        { batch: 300, today, callerHelps },
      )) {
        for (let k = 0; k < profiles.length; k++) {
          const own: number[] = [];
          People.blockKeyHashes(profiles[k]!, own);
          expect([...keys.subarray(keyStarts[k]!, keyStarts[k + 1]!)]).toEqual(own);
          two.addKeyed(profiles[k]!, keys, keyStarts[k]!, keyStarts[k + 1]!);
        }
      }
      expect(two.links).toEqual(one.links);
      expect(recs.map((_r, i) => two.find(i))).toEqual(recs.map((_r, i) => one.find(i)));
    },
  );
});
