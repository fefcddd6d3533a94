import { describe, expect, it } from "vitest";
import { parseChunk } from "../../packages/core/src/imports/process-chunk";
import { LINE_COLUMN } from "../../packages/core/src/imports/stage";
import { partnerBMortgages } from "../../packages/core/src/sources/partner-b-mortgages";

const HEADER =
  "Loan Number,Borrower First,Borrower Last,Co-Borrower First,Co-Borrower Last,Property Address,Property City,Property State,Property Zip,Mailing Address,Mailing City,Mailing State,Mailing Zip,Loan Amount,Lender,Loan Type,Interest Rate,Closing Date,First Payment Date,Borrower Phone,Borrower Email";
const row = (id: string) =>
  `${id},Ann,Lee,,,1 Main St,Austin,TX,78745,,,,,"$100,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,`;

/** A chunk as Stage leaves it: the header after __source_line, each record after its line. */
function summary(ids: string[]) {
  const body = [`${LINE_COLUMN},${HEADER}`, ...ids.map((id, i) => `${i + 2},${row(id)}`)].join("\n") + "\n";
  return parseChunk(partnerBMortgages, body, ids.length, (line) => [
    "00000000-0000-0000-0000-000000000001",
    0,
    line,
    String(line),
    "B",
  ]).summary;
}

describe("what a chunk tells its promotion", () => {
  it("ids that strictly increase: in key order, all distinct", () => {
    expect(summary(["B-100001", "B-100002", "B-100010"])).toMatchObject({ rows: 3, distinctKeys: 3, inKeyOrder: true });
  });

  it("a repeated id, next to its twin or far from it: not in key order, counted once", () => {
    expect(summary(["B-100001", "B-100001", "B-100002"])).toMatchObject({
      rows: 3,
      distinctKeys: 2,
      inKeyOrder: false,
    });
    expect(summary(["B-100001", "B-100002", "B-100003", "B-100001"])).toMatchObject({
      rows: 4,
      distinctKeys: 3,
      inKeyOrder: false,
    });
  });

  it("distinct ids out of order: not in key order, all distinct", () => {
    expect(summary(["B-100002", "B-100001", "B-100003"])).toMatchObject({
      rows: 3,
      distinctKeys: 3,
      inKeyOrder: false,
    });
  });

  it("columns some row has a value in; a rejected row counts for nothing", () => {
    const s = summary(["B-100001", "not an id!"]);
    expect(s).toMatchObject({ rows: 1, distinctKeys: 1, inKeyOrder: true });
    expect(s.filled.has("mortgage_id")).toBe(true);
    expect(s.filled.has("tracking_code")).toBe(false);
    expect(s.filled.has("phone")).toBe(false);
  });
});
