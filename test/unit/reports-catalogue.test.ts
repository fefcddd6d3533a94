import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Reports } from "@leadpipe/core";

describe("the report catalogue", () => {
  it("docs/reports.md is the catalogue's markdown (regenerate: npx leadpipe report docs > docs/reports.md)", () => {
    expect(readFileSync("docs/reports.md", "utf8")).toBe(Reports.markdown());
  });

  it("names at least twelve reports, each once, each with a question, a grain, columns and an order among its columns", () => {
    expect(Reports.reports.length).toBeGreaterThanOrEqual(12);
    expect(new Set(Reports.reports.map((r) => r.name)).size).toBe(Reports.reports.length);
    for (const r of Reports.reports) {
      expect(r.question, r.name).toMatch(/\?$/);
      expect(r.grain.length, r.name).toBeGreaterThan(0);
      const cols = r.columns.map((c) => c.name);
      for (const o of r.orderBy) expect(cols, `${r.name} orders by ${o}`).toContain(o);
    }
  });

  it("every relation it names is defined in sql/ (a view or a materialized view of that name)", () => {
    const sql = ["migrations", "views"]
      .flatMap((d) => readdirSync(`sql/${d}`).map((f) => readFileSync(`sql/${d}/${f}`, "utf8")))
      .join("\n");
    for (const r of Reports.reports) {
      const kind = r.refresh.kind === "rollup" ? "VIEW" : "MATERIALIZED VIEW";
      expect(sql, r.relation).toMatch(new RegExp(`CREATE (OR REPLACE )?${kind} ${r.relation} AS`));
    }
  });

  it("filters: column=value, blank means IS NULL; unknown columns are refused before any SQL; values are parameters", () => {
    expect(Reports.parseFilter("partner=B")).toEqual({ column: "partner", value: "B" });
    expect(Reports.parseFilter("county_fips=")).toEqual({ column: "county_fips", value: null });
    expect(Reports.parseFilter("campaign=A=B")).toEqual({ column: "campaign", value: "A=B" });
    expect(() => Reports.parseFilter("=B")).toThrow(/--where takes column=value/);
    const funnel = Reports.get("funnel");
    expect(
      Reports.query(
        funnel,
        [
          { column: "partner", value: "B'; DROP TABLE x; --" },
          { column: "mail_date", value: null },
        ],
        10,
      ),
    ).toEqual({
      sql:
        'SELECT "partner", "mail_date", "mortgages", "pieces", "delivered", "calls", "interested", "leads", "handed_off" FROM "report_funnel"' +
        ' WHERE "partner"::text = $1 AND "mail_date" IS NULL ORDER BY "partner", "mail_date" LIMIT 10',
      params: ["B'; DROP TABLE x; --"],
    });
    // the limit is written into the text (an unfiltered read then takes no parameters, as COPY needs): a whole number only
    expect(Reports.query(funnel, [], 0).params).toEqual([]);
    for (const bad of [1.5, -1, Number.NaN, 2 ** 53])
      expect(() => Reports.query(funnel, [], bad)).toThrow(/row limit must be a whole number/);
    expect(() => Reports.query(funnel, [{ column: "1=1 OR partner", value: "x" }])).toThrow(
      /has no column "1=1 OR partner"/,
    );
  });

  it("the views an import makes stale follow its kind; every import makes the import reports stale", () => {
    // lead-aging, rejects and barcode-quality are rollups (migration 295): no import makes them stale
    expect(Reports.viewsStaleAfter("call_responses").sort()).toEqual([
      "report_imports_by_day",
      "report_imports_health",
    ]);
    expect(Reports.viewsStaleAfter("suppressions").sort()).toEqual(["report_imports_by_day", "report_imports_health"]);
    expect(Reports.viewsStaleAfter("mortgages").sort()).toEqual([
      "report_golden_records",
      "report_imports_by_day",
      "report_imports_health",
    ]);
  });
});
