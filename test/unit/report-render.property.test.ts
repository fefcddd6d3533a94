import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Reports } from "@leadpipe/core";
import { renderShown } from "../../packages/local/src/commands/report";

const report = Reports.get("funnel");
/** Values a row can hold: strings of any code units (lone surrogates, controls, quotes), every kind of number, dates. */
const value = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({
    unit: fc.constantFrom('"', "\\", "\n", "\t", "\u0000", "\u001f", "\u2028", "\ud800", "\udc00", "a", "é"),
  }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, true, false, Number.NaN, -0, Number.POSITIVE_INFINITY, 1e21, 5e-7),
  fc.date({ noInvalidDate: true }),
);
const table = fc
  .uniqueArray(fc.constantFrom("partner", "mail_date", "data_as_of", "calls", "12", "0", 'é t"x'), {
    minLength: 1,
    maxLength: 5,
  })
  .chain((columns) =>
    fc.record({
      columns: fc.constant(columns),
      rows: fc.array(fc.array(value, { minLength: columns.length, maxLength: columns.length }), { maxLength: 5 }),
      dataAsOf: fc.option(fc.date({ noInvalidDate: true })),
    }),
  );

describe("report show --json, written from the row's values", () => {
  it("prints each row as JSON.stringify({ ...row object, data_as_of }) does", () => {
    fc.assert(
      fc.property(table, ({ columns, rows, dataAsOf }) => {
        const asObjects = rows
          .map(
            (r) =>
              `${JSON.stringify({ ...Object.fromEntries(columns.map((c, i) => [c, r[i]])), data_as_of: dataAsOf })}\n`,
          )
          .join("");
        expect(renderShown({ report, dataAsOf, columns, rows }, "json")).toBe(asObjects);
      }),
      { seed: 20261207, numRuns: 2000 },
    );
  });
});
