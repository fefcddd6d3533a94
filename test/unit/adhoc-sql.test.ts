import { describe, expect, it } from "vitest";
import { checkStatement, firstKeyword } from "../../packages/core/src/adhoc-sql";
import { formatRows } from "../../packages/local/src/commands/sql";

describe("firstKeyword", () => {
  it.each([
    ["SELECT 1", "select"],
    ["  \n\tselect 1", "select"],
    ["-- note\nWITH x AS (SELECT 1) TABLE x", "with"],
    ["/* a /* nested */ comment */ VALUES (1)", "values"],
    ["((SELECT 1))", "select"],
    ["/* unterminated", ""],
    ["-- only a comment", ""],
    ["set local statement_timeout = 0", "set"],
    ["/**/DELETE FROM x", "delete"],
  ])("%j → %j", (text, word) => {
    expect(firstKeyword(text)).toBe(word);
  });
});

describe("checkStatement", () => {
  it("accepts queries and refuses the rest, naming what it got", () => {
    for (const q of [
      "SELECT 1",
      "with a as (select 1) select * from a",
      "VALUES (1)",
      "TABLE imports",
      "EXPLAIN SELECT 1",
      "SHOW work_mem",
    ]) {
      expect(() => checkStatement(q)).not.toThrow();
    }
    expect(() => checkStatement("COMMIT; DELETE FROM mortgages")).toThrow(/refused: .*not COMMIT/);
    expect(() => checkStatement("SET LOCAL statement_timeout = 0")).toThrow(/refused: .*not SET/);
    expect(() => checkStatement("  ")).toThrow(/refused: no SQL statement given/);
  });
});

describe("formatRows", () => {
  it("aligns columns and counts rows, and says when more exist", () => {
    expect(
      formatRows(
        ["a", "bb"],
        [
          { a: 1, bb: "x" },
          { a: 100, bb: null },
        ],
        true,
      ),
    ).toBe(
      ["a   | bb", "----+---", "1   | x", "100 |", "(2 rows; more rows exist: raise --limit, or use --json)"].join(
        "\n",
      ),
    );
  });

  it("formats 200k rows without overflowing the stack", () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ n: i, s: "v".repeat(i % 7) }));
    const out = formatRows(["n", "s"], rows);
    expect(out.split("\n")).toHaveLength(200_003);
    expect(out.endsWith("(200000 rows)")).toBe(true);
  });
});
