import { describe, expect, it } from "vitest";
import { date, decimal, money, timestamp } from "../../packages/core/src/sources/fields";
import { barcodeMap } from "../../packages/core/src/sources/barcode-map";
import { mortgageRow } from "../../packages/core/src/sources/mortgage-row";
import { mortgagesTarget } from "../../packages/core/src/sources/mortgage-row";
import type { SourceSpec } from "../../packages/core/src/sources/spec";
import { Imb, Sources } from "@leadpipe/core";
import { parseChunk } from "../../packages/core/src/imports/process-chunk";
import { LINE_COLUMN } from "../../packages/core/src/imports/stage";

type Parseable = {
  safeParse(v: unknown): {
    success: boolean;
    data?: unknown;
    error?: { issues: { message: string; path: PropertyKey[] }[] };
  };
};
const ok = (schema: Parseable, v: unknown) => {
  const r = schema.safeParse(v);
  expect(r.success, `${JSON.stringify(v)} should be accepted: ${JSON.stringify(r.error?.issues)}`).toBe(true);
  return r.data;
};
const bad = (schema: Parseable, v: unknown) => {
  const r = schema.safeParse(v);
  expect(r.success, `${JSON.stringify(v)} should be rejected`).toBe(false);
  return r.error!.issues.map((i) => [String(i.path[0] ?? ""), i.message]);
};

describe("numbers as partners write them", () => {
  it("European money: dot or (no-break) space thousands, comma decimals, € either side", () => {
    const eu = money({ format: "eu" });
    expect(ok(eu, "312.500,00")).toBe("312500.00");
    expect(ok(eu, "1.045.000,5")).toBe("1045000.5");
    expect(ok(eu, "1 234,56")).toBe("1234.56");
    expect(ok(eu, "1\u00a0234,56")).toBe("1234.56");
    expect(ok(eu, "€ 1.234,56")).toBe("1234.56");
    expect(ok(eu, "1.234,56 €")).toBe("1234.56");
    expect(ok(eu, "1.234")).toBe("1234");
    expect(ok(eu, "199000")).toBe("199000");
    // A US amount in a European file, and three decimals, are refused with the European example.
    expect(bad(eu, "312,500.00")).toEqual([["", "expected an amount like 312.500,00"]]);
    expect(bad(eu, "12,345")).toEqual([["", "expected an amount like 312.500,00"]]);
  });

  it("US money: comma thousands only where three digits follow", () => {
    expect(ok(money(), "1,234,567.89")).toBe("1234567.89");
    expect(ok(money(), "$ 1,250")).toBe("1250");
    expect(bad(money(), "12,34")).toEqual([["", "expected an amount like 312500.00"]]);
    expect(bad(money({ min: 1 }), "0.00")).toEqual([["", "expected an amount like 312500.00"]]);
  });

  it("decimals (rates) in either format, with or without %", () => {
    const rate = decimal({ max: 25, format: "eu" });
    expect(ok(rate, "6,125")).toBe("6.125");
    expect(ok(rate, "6,125%")).toBe("6.125");
    expect(ok(rate, "5")).toBe("5");
    expect(bad(rate, "1.234,5")).toEqual([["", "expected a number between 0 and 25"]]);
    expect(bad(rate, "6.125,0.1")).toEqual([["", "expected a number between 0 and 25"]]);
    expect(ok(decimal({ max: 25 }), "6.125")).toBe("6.125");
  });
});

describe("dates and times as partners write them", () => {
  it("DD.MM.YYYY, YYYYMMDD and ISO: real calendar days only, returned as YYYY-MM-DD", () => {
    expect(ok(date("DD.MM.YYYY"), "14.11.2026")).toBe("2026-11-14");
    expect(ok(date("DD.MM.YYYY"), "1.2.2026")).toBe("2026-02-01");
    expect(ok(date("DD.MM.YYYY"), "29.02.2028")).toBe("2028-02-29");
    expect(bad(date("DD.MM.YYYY"), "29.02.2027")).toEqual([["", "expected a date as DD.MM.YYYY"]]);
    expect(bad(date("DD.MM.YYYY"), "11/14/2026")).toEqual([["", "expected a date as DD.MM.YYYY"]]);
    expect(bad(date("DD.MM.YYYY"), "14.11.26")).toEqual([["", "expected a date as DD.MM.YYYY"]]);
    expect(ok(date("YYYYMMDD"), "20261114")).toBe("2026-11-14");
    expect(bad(date("YYYYMMDD"), "20261314")).toEqual([["", "expected a date as YYYYMMDD"]]);
    expect(bad(date("YYYYMMDD"), "2026-11-14")).toEqual([["", "expected a date as YYYYMMDD"]]);
    expect(bad(date("YYYY-MM-DD"), "2026-2-1")).toEqual([["", "expected a date as YYYY-MM-DD"]]);
    // Years outside 1900–2200 are typos, not closings.
    expect(bad(date("YYYY-MM-DD"), "1899-12-31")).toEqual([["", "expected a date as YYYY-MM-DD"]]);
    expect(bad(date("DD.MM.YYYY"), "01.01.2201")).toEqual([["", "expected a date as DD.MM.YYYY"]]);
  });

  it("date-times: European and US 12-hour clocks in the feed's zone, ISO offsets normalized", () => {
    expect(ok(timestamp("DD.MM.YYYY HH:MM", { zone: "Europe/Berlin" }), "20.11.2026 14:03")).toBe(
      "2026-11-20 14:03:00 Europe/Berlin",
    );
    expect(ok(timestamp("MM/DD/YYYY hh:mm", { zone: "America/Chicago" }), "11/20/2026 2:03 PM")).toBe(
      "2026-11-20 14:03:00 America/Chicago",
    );
    expect(ok(timestamp("MM/DD/YYYY hh:mm"), "11/20/2026 12:00 am")).toBe("2026-11-20 00:00:00 UTC");
    expect(ok(timestamp("ISO"), "2026-11-20T14:03:59.123-0600")).toBe("2026-11-20 14:03:59-06:00");
    expect(ok(timestamp("ISO"), "2026-11-20 14:03Z")).toBe("2026-11-20 14:03:00+00:00");
    expect(bad(timestamp("MM/DD/YYYY hh:mm"), "11/20/2026 13:03 PM")).toEqual([
      ["", "expected a date and time as MM/DD/YYYY hh:mm"],
    ]);
    expect(bad(timestamp("DD.MM.YYYY HH:MM"), "31.11.2026 10:00")).toEqual([
      ["", "expected a date and time as DD.MM.YYYY HH:MM"],
    ]);
  });
});

describe("barcode-map rows: every encoding of the IMb to one tracking code", () => {
  // The USPS specification's example (shared/reference/imb-spec-examples.csv).
  const tracking = "01234567094987654321";
  const routing = "01234567891";
  const blank = {
    mortgage_id: "",
    imb: "",
    barcode_id: "",
    service_type_id: "",
    mailer_id: "",
    serial_number: "",
    routing: "",
  };
  const row = (over: Partial<typeof blank>) => ({ ...blank, mortgage_id: "c-100001", ...over });
  const out = (imbRaw: string, encoding: string, routingCode: string | null, repaired = false) => ({
    mortgage_id: "C-100001",
    imb_raw: imbRaw,
    imb_encoding: encoding,
    imb_repaired: repaired,
    tracking_code: tracking,
    routing_code: routingCode,
  });
  /** The zod path and the compiled path must agree on every row. */
  const accepted = (input: typeof blank) => {
    const data = ok(barcodeMap.row, input);
    expect(barcodeMap.row.fast(input)).toEqual(data);
    return data;
  };
  const refused = (input: typeof blank) => {
    expect(barcodeMap.row.fast(input)).toBeUndefined();
    return bad(barcodeMap.row, input);
  };

  it("the 65-bar string, in either case", () => {
    const bars = Imb.encode(tracking, routing);
    expect(bars).toBe("AADTFFDFTDADTAADAATFDTDDAAADDTDTTDAFADADDDTFFFDDTTTADFAAADFTDAADA");
    expect(accepted(row({ imb: bars }))).toEqual(out(bars, "bars", routing));
    expect(accepted(row({ imb: ` ${bars.toLowerCase()} ` }))).toEqual(out(bars.toLowerCase(), "bars", routing));
  });

  it("20, 25, 29 and 31 digits, with or without spaces and dashes", () => {
    expect(accepted(row({ imb: tracking }))).toEqual(out(tracking, "numeric", null));
    expect(accepted(row({ imb: `${tracking}01234` }))).toEqual({ ...out(`${tracking}01234`, "numeric", "01234") });
    expect(accepted(row({ imb: "01 234 567094 987654321 012345678" }))).toEqual(
      out("01 234 567094 987654321 012345678", "numeric", "012345678"),
    );
    expect(accepted(row({ imb: "01-234-567094-987654321-01234567891" }))).toEqual(
      out("01-234-567094-987654321-01234567891", "numeric", routing),
    );
  });

  it("the component fields, joined by | as received", () => {
    const fields = { barcode_id: "01", service_type_id: "234", mailer_id: "567094", serial_number: "987654321" };
    expect(accepted(row({ ...fields, routing }))).toEqual(out(`01|234|567094|987654321|${routing}`, "fields", routing));
    expect(accepted(row(fields))).toEqual(out("01|234|567094|987654321|", "fields", null));
    // Both given and agreeing: the IMb column is the one kept.
    expect(accepted(row({ ...fields, routing, imb: `${tracking}${routing}` }))).toEqual(
      out(`${tracking}${routing}`, "numeric", routing),
    );
  });

  it("a barcode that does not decode rejects its row with the codec's reason", () => {
    const bars = Imb.encode(tracking, routing);
    expect(refused(row({ imb: bars.slice(1) }))).toEqual([["imb", "imb: bar string has 64 bars, expected 65"]]);
    expect(refused(row({ imb: `07${tracking.slice(2)}` }))).toEqual([
      ["imb", "imb: second digit of the barcode identifier is 7, expected 0-4"],
    ]);
    expect(refused(row({ imb: `${tracking}012` }))[0]![1]).toMatch(/^imb: /);
    expect(
      refused(row({ barcode_id: "01", service_type_id: "234", mailer_id: "567094", serial_number: "98765432" }))[0],
    ).toEqual(["barcode_id", expect.stringMatching(/^imb: /)]);
    expect(
      refused(
        row({
          imb: tracking,
          barcode_id: "01",
          service_type_id: "234",
          mailer_id: "567094",
          serial_number: "987654320",
        }),
      ),
    ).toEqual([["barcode_id", "imb: the component fields (01|234|567094|987654320|) do not match the IMb column"]]);
    expect(refused(row({}))).toEqual([["imb", "required value is missing: give the IMb or its component fields"]]);
    expect(refused(row({ mortgage_id: "", imb: tracking }))).toEqual([["mortgage_id", "required value is missing"]]);
  });
});

/**
 * Partner E, who does not exist: one spec object (what partner-e-mortgages.ts would hold) and one
 * line in a registry built the way index.ts builds the pipeline's. Nothing else changes.
 */
const partnerEMortgages: SourceSpec = {
  name: "partner-e-mortgages",
  partner: "E",
  description: "Partner E mortgage closings (tab-separated, YYYYMMDD, European numbers)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?e[-_ ].*mortgage.*\.tsv$/i,
  reader: { format: "csv", delimiter: "\t", encoding: "utf-8" },
  columns: {
    LoanNo: "loan_number",
    First: "borrower_first",
    Last: "borrower_last",
    Street: "property_address",
    Town: "property_city",
    St: "property_state",
    Zip: "property_zip",
    Amount: "loan_amount",
    Rate: "interest_rate",
    Closed: "closing_date",
  },
  row: mortgageRow({ dates: "YYYYMMDD", numbers: "eu" }),
  target: mortgagesTarget,
};

describe("a fifth partner is one spec file and one registry line", () => {
  const sources = Sources.registry([...Sources.all, partnerEMortgages]);

  it("is identified by its file name or landing prefix, and its barcode maps are accepted", () => {
    expect(sources.identify("inbox/partner-e-mortgages/2026/11/20/anything.tsv")).toBe(partnerEMortgages);
    expect(sources.identify("inbox/partner-e-mortgages-2026-11-20.tsv")).toBe(partnerEMortgages);
    expect(sources.get("partner-e-mortgages")).toBe(partnerEMortgages);
    expect(sources.partners()).toEqual(["A", "B", "C", "D", "E"]);
    const map = sources.identify("inbox/partner-e-barcodes-2026-11-20.csv")!;
    expect(map).toBe(barcodeMap);
    expect(Sources.partnerOf(map, "inbox/partner-e-barcodes-2026-11-20.csv")).toBe("E");
    // The pipeline's own registry is unchanged by the test.
    expect(Sources.partners()).toEqual(["A", "B", "C", "D"]);
    expect(Sources.identify("inbox/partner-e-mortgages-2026-11-20.tsv")).toBeUndefined();
  });

  it("drives a chunk through the one parse/validate path to staged rows carrying partner E", () => {
    const header = [LINE_COLUMN, ...Object.keys(partnerEMortgages.columns)].join("\t");
    const body =
      [
        header,
        "2\te-5001\tAnna\tKovacs\t12 Elm St\tAustin\ttx\t78701\t312.500,00\t6,125\t20261114",
        "3\tE-5002\tBen\tLund\t9 Oak Ave\tDallas\tTX\t75201-1234\t1.045.000\t5,5\t20261131",
        "4\tE-5003\tCara\tMoss\t1 Pine Rd\tWaco\tTX\t76701\t$200,000.00\t6\t20261115",
      ].join("\n") + "\n";
    const parsed = parseChunk(partnerEMortgages, body, 3, (line) => ["import-e", 0, line, line, "E"]);
    expect(parsed.rowsRead).toBe(3);
    const staged = parsed.staged
      .done()
      .join("")
      .trimEnd()
      .split("\n")
      .map((l) => l.split("\t"));
    const at = (name: string) => 5 + mortgagesTarget.columns.indexOf(name);
    expect(staged).toHaveLength(1);
    const s = staged[0]!;
    expect(s.slice(0, 5)).toEqual(["import-e", "0", "2", "2", "E"]);
    expect([
      s[at("mortgage_id")],
      s[at("property_state")],
      s[at("property_zip5")],
      s[at("loan_amount")],
      s[at("interest_rate")],
      s[at("closing_date")],
      s[at("tracking_code")],
    ]).toEqual(["E-5001", "TX", "78701", "312500.00", "6.125", "2026-11-14", "\\N"]);
    expect(parsed.rejects.map((r) => [r.row, r.field, r.value, r.message])).toEqual([
      [3, "Closed", "20261131", "expected a date as YYYYMMDD"],
      [4, "Amount", "$200,000.00", "expected an amount like 312.500,00"],
    ]);
  });
});
