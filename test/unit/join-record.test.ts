import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parse } from "csv-parse/sync";
import { joinRecord } from "../../packages/core/src/csv/records";

describe("joinRecord (stored rejected rows)", () => {
  it("quotes only what needs it", () => {
    expect(joinRecord(["B-1", "22 Elm St, Apt 4B", '19 "The Willows" Rd', "two\nlines", ""], ",")).toBe(
      'B-1,"22 Elm St, Apt 4B","19 ""The Willows"" Rd","two\nlines",',
    );
    expect(joinRecord(["a;b", "c,d"], ";")).toBe('"a;b";c,d');
    expect(joinRecord(["it's", "a|b", 'say "hi"'], "|", "'")).toBe(`'it''s'|'a|b'|say "hi"`);
  });

  it("parses back to the same fields, whatever they hold", () => {
    const field = fc.string({ unit: fc.constantFrom("a", " ", ",", ";", '"', "\n", "\r", "x", "=") });
    fc.assert(
      fc.property(fc.array(field, { minLength: 2, maxLength: 6 }), fc.constantFrom(",", ";"), (fields, d) => {
        const [back] = parse(joinRecord(fields, d), {
          delimiter: d,
          relax_quotes: true,
          relax_column_count: true,
        }) as string[][];
        expect(back).toEqual(fields);
      }),
      { numRuns: 2000 },
    );
  });
});
