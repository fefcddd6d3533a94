import { describe, expect, it } from "vitest";
import { csvCell, csvDocument, csvLine } from "../../packages/core/src/csv/write";

describe("csv writing", () => {
  it("neutralizes every formula-starting cell with a leading quote", () => {
    expect(["=1+2", "+1", "-x", "@SUM(A1)", "\tx", "\rx"].map(csvCell)).toEqual([
      "'=1+2",
      "'+1",
      "'-x",
      "'@SUM(A1)",
      "'\tx",
      '"\'\rx"',
    ]);
  });
  it("writes a negative number given as text as a number, and still neutralizes formulas that start with a minus", () => {
    expect(["-0.030000", "-5", "-1+2", "-2+3+cmd|' /C calc'!A0", "-1.", "- 1", "-1e3"].map(csvCell)).toEqual([
      "-0.030000",
      "-5",
      "'-1+2",
      "'-2+3+cmd|' /C calc'!A0",
      "'-1.",
      "'- 1",
      "'-1e3",
    ]);
  });
  it("quotes commas, quotes and newlines, and leaves plain text and numbers alone", () => {
    expect(csvLine(["a,b", 'say "hi"', "two\nlines", "plain", -5, 1.5, null, undefined, true])).toBe(
      '"a,b","say ""hi""","two\nlines",plain,-5,1.5,,,true\n',
    );
  });
  it("writes a document of a header and rows", () => {
    expect(
      csvDocument(
        ["id", "name"],
        [
          [1, "=cmd"],
          [2, "O'Brien, Jr."],
        ],
      ),
    ).toBe("id,name\n1,'=cmd\n2,\"O'Brien, Jr.\"\n");
  });
});
