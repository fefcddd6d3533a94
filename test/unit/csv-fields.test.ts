import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parse } from "csv-parse/sync";
import { chunkParseOptions, splitBody } from "../../packages/core/src/csv/fields";

const csvParse = (body: string, delimiter: string) => parse(body, chunkParseOptions(delimiter)) as string[][];

/** csv-parse's answer, or "error" when it refuses the body. */
function reference(body: string, delimiter: string): string[][] | "error" {
  try {
    return csvParse(body, delimiter);
  } catch {
    return "error";
  }
}

describe("splitBody (the chunk fast path)", () => {
  it("splits plain, quoted, escaped and multi-line fields like csv-parse", () => {
    const body = 'a,b,c\n1,"x,y","say ""hi"""\n2,"two\nlines",\n3,,\n4,ab"c,"$1,000.00"\n';
    expect(splitBody(body, ",")).toEqual([
      ["a", "b", "c"],
      ["1", "x,y", 'say "hi"'],
      ["2", "two\nlines", ""],
      ["3", "", ""],
      ["4", 'ab"c', "$1,000.00"],
    ]);
    expect(splitBody(body, ",")).toEqual(csvParse(body, ","));
  });

  it("keeps a carriage return that is data, and a last field without a newline", () => {
    expect(splitBody("a;b\r\nc;d", ";")).toEqual([
      ["a", "b\r"],
      ["c", "d"],
    ]);
  });

  it("gives up (undefined) on what it cannot be sure of", () => {
    expect(splitBody('a,b\n"never closed,x\n', ",")).toBeUndefined();
    expect(splitBody('a,b\n"a"x,b\n', ",")).toBeUndefined();
    expect(splitBody('a,b\n"b" ,c\n', ",")).toBeUndefined();
  });

  it.each([",", ";", "|", "\t"])("agrees with csv-parse on every body it accepts, delimiter %j (property)", (d) => {
    const cell = fc.stringMatching(/^[ab,"\n\r ;|\t]{0,6}$/);
    const quoted = cell.map((c) => `"${c.replaceAll('"', '""')}"`);
    const field = fc.oneof(
      cell.filter((c) => !c.includes(d) && !c.includes("\n")),
      quoted,
      cell,
    );
    const record = fc.array(field, { minLength: 1, maxLength: 5 }).map((fs) => fs.join(d));
    const body = fc
      .tuple(fc.array(record, { minLength: 1, maxLength: 6 }), fc.boolean())
      .map(([rs, nl]) => rs.join("\n") + (nl ? "\n" : ""));
    fc.assert(
      fc.property(body, (b) => {
        const fast = splitBody(b, d);
        if (fast === undefined) return true;
        // Whatever the fast path accepts, csv-parse parses the same way.
        expect(fast).toEqual(reference(b, d));
        return true;
      }),
      { numRuns: 10_000 },
    );
  });

  it("accepts every well-formed body (property: it falls back only on malformed quoting)", () => {
    const value = fc.stringMatching(/^[ab,"\n ;]{0,6}$/);
    const wellFormed = fc
      .array(fc.array(value, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 })
      .map(
        (rows) =>
          rows
            .map((r) => r.map((v) => (/[",\n]/.test(v) || v === "" ? `"${v.replaceAll('"', '""')}"` : v)).join(","))
            .join("\n") + "\n",
      );
    fc.assert(
      fc.property(wellFormed, (b) => {
        const fast = splitBody(b, ",");
        expect(fast).toEqual(csvParse(b, ","));
        return true;
      }),
      { numRuns: 5_000 },
    );
  });
});
