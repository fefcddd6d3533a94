import { describe, expect, it } from "vitest";
import { Roles, createPool, type Pool } from "@leadpipe/core";
import { searchPeople } from "../../packages/console/src/data/people";
import { useDatabase, type DatabaseUse } from "../support/database";

let db: DatabaseUse;
useDatabase("leadpipe-people-search-", (d) => (db = d), 180_000);

const PEOPLE = 200_000;

/** Every plan node of an EXPLAIN (FORMAT JSON) answer, flattened. */
function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const kids = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...kids.flatMap(nodes)];
}

/** Runs searchPeople's statement under EXPLAIN (the same text and parameters) and returns its plan nodes. */
async function planOf(pool: Pool, q: string): Promise<Record<string, unknown>[]> {
  let captured: { text: string; values: unknown[] } | undefined;
  await searchPeople(
    {
      query: async (text: string, values: unknown[]) => {
        captured = { text, values };
        return { rows: [] };
      },
    } as never,
    q,
  );
  const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${captured!.text}`, captured!.values);
  return nodes((rows[0]["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0]!.Plan);
}

describe("people search (/people?q=) at 200,000 golden records", () => {
  it("finds by surname, full name, e-mail, phone and id with index probes, never a scan of persons", async () => {
    const { pool } = db;
    await pool.query(
      `INSERT INTO persons (first_name, last_name, email, phone, city, state, zip5)
       SELECT 'First' || g, 'Surname' || (g % 50000), 'p' || g || '@example.com',
              '+1555' || lpad(g::text, 7, '0'), 'Springfield', 'IL', '62701'
         FROM generate_series(1, $1) g`,
      [PEOPLE],
    );
    await pool.query(
      `INSERT INTO persons (first_name, last_name, email, phone) VALUES
         ('Ann', 'van der Berg', 'Ann.Berg@Example.com', '+15551234567'),
         ('Jan', 'Berg', NULL, NULL)`,
    );
    await pool.query("ANALYZE persons");
    const consolePool = createPool(Roles.urlAs(db.pg.url, Roles.CONSOLE_ROLE, db.pg.secrets.console), 2);
    await Roles.setRolePasswords(pool, { leadpipe_console: db.pg.secrets.console });
    try {
      const names = async (q: string) =>
        (await searchPeople(consolePool, q)).map((r) => `${r.first_name} ${r.last_name}`);
      expect(await names("surname4242")).toEqual([
        "First4242 Surname4242",
        "First54242 Surname4242",
        "First104242 Surname4242",
        "First154242 Surname4242",
      ]);
      expect(await names("ann VAN DER berg")).toEqual(["Ann van der Berg"]);
      expect(await names("Berg")).toEqual(["Jan Berg"]);
      expect(await names("ann.berg@example.com")).toEqual(["Ann van der Berg"]);
      expect(await names("(555) 123-4567")).toEqual(["Ann van der Berg"]);
      expect(await names("+15550000077")).toEqual(["First77 Surname77"]);
      const {
        rows: [first],
      } = await pool.query("SELECT min(person_id)::text AS id FROM persons");
      expect(await names(first.id)).toEqual(["First1 Surname1"]);
      expect(await names("nobody at all")).toEqual([]);

      for (const q of ["surname4242", "ann van der berg", "ann.berg@example.com", "555-123-4567", "12345"]) {
        const plan = await planOf(pool, q);
        const types = plan.map((n) => `${n["Node Type"]}${n["Index Name"] ? `(${n["Index Name"]})` : ""}`);
        expect(
          types.filter((t) => t.startsWith("Seq Scan")),
          `${q}: ${types.join(", ")}`,
        ).toEqual([]);
        const indexes = new Set(plan.map((n) => n["Index Name"]).filter(Boolean));
        // the id's probe is planned away when the text is no whole number
        const byId = /^\d+$/.test(q) ? ["persons_pkey"] : [];
        expect([...indexes].sort(), q).toEqual(
          ["persons_email_lower", "persons_last_name_lower", "persons_phone", ...byId].sort(),
        );
      }
    } finally {
      await consolePool.end();
    }
  }, 180_000);
});
