import { describe, expect, it } from "vitest";
import { tableSpecs } from "../../packages/core/src/migration/mapping";
import type { LegacyTable } from "../../packages/core/src/migration/readers";

const t = (name: string, columns: string[], extra: Partial<LegacyTable> = {}): LegacyTable => ({
  name,
  columns: columns.map((c) => ({ name: c, kind: c.endsWith("id") ? "integer" : "text", declared: "x" })),
  key: [columns[0]!],
  ...extra,
});

const customers = t("customers", ["id", "fname", "surname", "email"]);

describe("legacy mapping: campaigns, touchpoints and child tables", () => {
  it("a child table by the <table>_id convention attaches to its person table, which is linked", () => {
    const specs = tableSpecs([customers, t("customer_phones", ["phone_id", "customer_id", "mobile"])]);
    expect(specs.find((s) => s.table === "customer_phones")).toMatchObject({
      target: "contacts",
      fields: { mobile: "phone" },
      parent: {
        column: "customer_id",
        table: "customers",
        key: "id",
        names: { fname: "first_name", surname: "last_name" },
      },
    });
    expect(specs.find((s) => s.table === "customers")).toMatchObject({ linked: true });
  });

  it("a foreign key wins over the convention, and the mapping over both", () => {
    const addresses = t("addresses", ["id", "owner", "street", "zip"], {
      references: [{ column: "owner", table: "customers", to: "id" }],
    });
    expect(tableSpecs([customers, addresses])[1]!.parent).toMatchObject({ column: "owner", table: "customers" });
    const leads = t("leads", ["lead_no", "first_name", "last_name"]);
    const mails = t("mails", ["id", "holder", "email"]);
    const specs = tableSpecs([customers, leads, mails], { tables: { mails: { references: { holder: "leads" } } } });
    expect(specs.find((s) => s.table === "mails")!.parent).toMatchObject({ column: "holder", table: "leads" });
  });

  it("a table without a name and without a parent still has no target", () => {
    expect(() => tableSpecs([customers, t("phones", ["id", "phone"])])).toThrow(/no target for phones/);
  });

  it("touchpoints name their campaign and person tables; a person column naming nothing is an error", () => {
    const campaigns = t("campaigns", ["id", "title", "medium"]);
    const touches = t("campaign_touches", ["id", "campaign_id", "customer_id", "sent_on"]);
    const specs = tableSpecs([customers, campaigns, touches], {
      tables: { campaign_touches: { channel: "mail" } },
    });
    expect(specs.find((s) => s.table === "campaigns")).toMatchObject({
      target: "campaigns",
      fields: { title: "name", medium: "channel" },
    });
    expect(specs.find((s) => s.table === "campaign_touches")).toMatchObject({
      target: "touchpoints",
      channel: "mail",
      fields: { campaign_id: "campaign", customer_id: "person", sent_on: "touched_at" },
      refs: { campaign: "campaigns", person: "customers" },
    });
    const orphan = t("touchpoints", ["id", "campaign", "member_no", "channel", "date"]);
    expect(() => tableSpecs([customers, orphan])).toThrow(
      /touchpoints → touchpoints: column member_no names no person table .*"references": \{"member_no": "<table>"\}/,
    );
    // A campaign column that names no campaigns table is a campaign's name.
    const named = tableSpecs([customers, orphan], {
      tables: { touchpoints: { references: { member_no: "customers" } } },
    });
    expect(named[1]).toMatchObject({ refs: { person: "customers" } });
  });

  it("a CSV file's rows (keyed by row number) are never named by another file's column", () => {
    const csv = (name: string, cols: string[]) => t(name, ["_row", ...cols]);
    const files = [csv("customers", ["id", "first_name", "last_name"]), csv("phones", ["customer_id", "phone"])];
    expect(() => tableSpecs(files)).toThrow(/no target for phones/);
    expect(() => tableSpecs(files, { tables: { phones: { references: { customer_id: "customers" } } } })).toThrow(
      /customer_id cannot name rows of customers \(its key is its row number/,
    );
  });
});
