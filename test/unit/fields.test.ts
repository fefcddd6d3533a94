import { describe, expect, it } from "vitest";
import {
  date,
  decimal,
  email,
  identifier,
  isoDate,
  money,
  phone,
  text,
  usState,
  zip,
} from "../../packages/core/src/sources/fields";
import { partnerBMortgages } from "../../packages/core/src/sources/partner-b-mortgages";
import { Sources } from "@leadpipe/core";

const ok = (schema: { safeParse(v: unknown): { success: boolean; data?: unknown } }, v: string) => {
  const r = schema.safeParse(v);
  expect(r.success, `${JSON.stringify(v)} should be accepted`).toBe(true);
  return r.data;
};
const bad = (
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } },
  v: string,
) => {
  const r = schema.safeParse(v);
  expect(r.success, `${JSON.stringify(v)} should be rejected`).toBe(false);
  return r.error!.issues[0]!.message;
};

describe("field coercers", () => {
  it("money accepts $ and thousands separators, keeps cents exact", () => {
    expect(ok(money(), "$312,500.00")).toBe("312500.00");
    expect(ok(money(), " 1250 ")).toBe("1250");
    expect(ok(money(), "")).toBeNull();
    expect(bad(money(), "not-a-number")).toBe("expected an amount like 312500.00");
    expect(bad(money(), "12.345")).toMatch(/expected an amount/);
    expect(bad(money({ required: true }), "  ")).toBe("required value is missing");
  });

  it("dates are real calendar dates in the declared format", () => {
    expect(ok(date("MM/DD/YYYY"), "11/14/2026")).toBe("2026-11-14");
    expect(ok(date("MM/DD/YYYY"), "2/29/2024")).toBe("2024-02-29");
    expect(bad(date("MM/DD/YYYY"), "2/29/2025")).toBe("expected a date as MM/DD/YYYY");
    expect(bad(date("MM/DD/YYYY"), "13/45/2026")).toBe("expected a date as MM/DD/YYYY");
    expect(bad(date("MM/DD/YYYY"), "2026-11-14")).toBe("expected a date as MM/DD/YYYY");
    expect(ok(date("YYYY-MM-DD"), "2026-11-14")).toBe("2026-11-14");
  });

  it("ZIP and ZIP+4 split into their parts", () => {
    expect(ok(zip(), "78745-2231")).toEqual({ zip5: "78745", zip4: "2231" });
    expect(ok(zip(), "787452231")).toEqual({ zip5: "78745", zip4: "2231" });
    expect(ok(zip(), "02116")).toEqual({ zip5: "02116", zip4: null });
    expect(bad(zip(), "2116")).toMatch(/ZIP/);
  });

  it("states, identifiers, e-mails, phones, decimals", () => {
    expect(ok(usState(), "ca")).toBe("CA");
    expect(bad(usState(), "XX")).toMatch(/state/);
    expect(ok(identifier(), "b-100001")).toBe("B-100001");
    expect(bad(identifier(), "B 1")).toMatch(/identifier/);
    expect(ok(email(), " JOBRIEN@EXAMPLE.COM ")).toBe("jobrien@example.com");
    expect(bad(email(), "not-an-email")).toMatch(/e-mail/);
    expect(ok(phone(), "(512) 555-0142")).toBe("(512) 555-0142");
    expect(bad(phone(), "555-0142")).toMatch(/10 digits/);
    expect(ok(decimal({ max: 25 }), "6.5%")).toBe("6.5");
    expect(bad(decimal({ max: 25 }), "26")).toMatch(/between 0 and 25/);
  });
});

describe("the checks' fast paths agree with their plain definitions", () => {
  it("isoDate accepts exactly the days the calendar (Date.UTC) has, 1900-2200", () => {
    const reference = (y: number, m: number, d: number) => {
      if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return undefined;
      const t = new Date(Date.UTC(y, m - 1, d));
      return t.getUTCMonth() === m - 1 && t.getUTCDate() === d ? t.toISOString().slice(0, 10) : undefined;
    };
    let days = 0;
    for (let y = 1898; y <= 2202; y++) {
      for (let m = 0; m <= 13; m++) {
        for (let d = 0; d <= 32; d++) {
          const want = reference(y, m, d);
          if (isoDate(y, m, d) !== want) expect(isoDate(y, m, d), `${y}-${m}-${d}`).toBe(want);
          if (want) days++;
        }
      }
    }
    expect(days).toBe(109938); // 301 years of 365 days and 73 leap days (1900, 2100 and 2200 are not leap years)
    expect(isoDate(2000, 2, 29)).toBe("2000-02-29");
    expect(isoDate(1900, 2, 29)).toBeUndefined();
  });

  it("text collapses every run of whitespace to one space, as /\\s+/ does", () => {
    const cells = [
      "Maria Gonzalez",
      "22  Elm St",
      "a\tb",
      "a \tb",
      "a\u00a0b",
      "a \u00a0 b",
      "Zoë  Ångström",
      "one\r\ntwo",
      "x\u2003\u2003y",
      "a b c d",
      "trailing\ufeffmark",
      "O'Brien",
      "ends in two  ",
      "  starts",
    ];
    for (const cell of cells) expect(ok(text(), cell), JSON.stringify(cell)).toBe(cell.trim().replace(/\s+/g, " "));
  });
});

describe("partner B spec", () => {
  const header = Object.keys(partnerBMortgages.columns);
  const row = (over: Record<string, string> = {}) => {
    const base: Record<string, string> = Object.fromEntries(
      Object.values(partnerBMortgages.columns).map((f) => [f, ""]),
    );
    return {
      ...base,
      loan_number: "B-1",
      borrower_first: "Maria",
      borrower_last: "Gonzalez",
      property_address: "1 Oak St",
      property_city: "Austin",
      property_state: "TX",
      property_zip: "78745-2231",
      loan_amount: "$312,500.00",
      closing_date: "11/14/2026",
      ...over,
    };
  };

  it("has about twenty columns and maps a good row onto every staging column", () => {
    expect(header.length).toBeGreaterThanOrEqual(20);
    const out = partnerBMortgages.row.parse(row()) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual([...partnerBMortgages.target.columns].sort());
    expect(out).toMatchObject({
      mortgage_id: "B-1",
      property_zip5: "78745",
      property_zip4: "2231",
      loan_amount: "312500.00",
      closing_date: "2026-11-14",
    });
  });

  it("names every bad field of a row", () => {
    const r = partnerBMortgages.row.safeParse(row({ loan_amount: "TBD", closing_date: "", property_state: "Texas" }));
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path[0], i.message]).sort()).toEqual([
      ["closing_date", "required value is missing"],
      ["loan_amount", "expected an amount like 312500.00"],
      ["property_state", "expected a two-letter US state code"],
    ]);
  });

  it("is recognized from the landing prefix or from the file name", () => {
    expect(Sources.identify("inbox/partner-b-mortgages/2026/11/20/anything.csv")?.name).toBe("partner-b-mortgages");
    expect(Sources.identify("inbox/unrecognized/2026/11/20/Partner_B_Mortgages_20261120.csv")?.name).toBe(
      "partner-b-mortgages",
    );
    expect(Sources.identify("inbox/unrecognized/2026/11/20/holiday-photos.csv")).toBeUndefined();
  });
});

describe("compiled row path", () => {
  it("accepts exactly the rows the zod schema accepts, with the same output", async () => {
    const { readFileSync, mkdtempSync } = await import("node:fs");
    const { parse } = await import("csv-parse/sync");
    const os = await import("node:os");
    const path = await import("node:path");
    const { writePartnerB } = await import("../../packages/local/src/generate/partner-b");
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "lp-fields-")), "b.csv");
    await writePartnerB(file, { day: "2026-11-20", rows: 2000, badEvery: 7 });
    const [header, ...recs] = parse(readFileSync(file)) as string[][];
    const fields = header!.map((h) => partnerBMortgages.columns[h]!);
    let rejected = 0;
    for (const rec of recs) {
      const input = Object.fromEntries(fields.map((f, i) => [f, rec[i]!]));
      const viaZod = partnerBMortgages.row.safeParse(input);
      const fast = partnerBMortgages.row.fast(input);
      expect(fast !== undefined).toBe(viaZod.success);
      if (viaZod.success) expect(fast).toEqual(viaZod.data);
      else rejected++;
    }
    expect(rejected).toBe(Math.floor(2000 / 7));
  });
});
