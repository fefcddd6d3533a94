/**
 * Golden record merges and Pipedrive (sql/functions/pipedrive_merges.sql) against the fake Pipedrive
 * and a real PostgreSQL: a synced record merged into one never synced hands over its Pipedrive person
 * and deal (no second person is created), an unmerge gives them back, and a merge of two synced
 * records leaves the absorbed one's Pipedrive person behind, said in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, Integrations, type Pool } from "@leadpipe/core";
import { useDatabase } from "../support/database";
import { type FakePipedrive, startFakePipedrive } from "../support/fake-pipedrive";
import { declareFields, seedLeads } from "../support/pipedrive-seed";

let pool: Pool;
let fake: FakePipedrive;
let connections: Integrations.Integrations;
const log = createLogger({ service: "test" }, () => undefined);

useDatabase("leadpipe-pipedrive-merge-", (db) => ({ pool } = db), 120_000);
beforeAll(async () => {
  fake = await startFakePipedrive();
  connections = { pipedrive: { api_url: fake.url, api_token: fake.token, owner_field_map: declareFields(fake) } };
}, 120_000);
afterAll(async () => {
  await fake?.close();
});

const sync = () =>
  Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, connections, {
    trigger: "cli",
    full: false,
    dryRun: false,
  });
const links = async () =>
  (
    await pool.query(
      `SELECT s.entity, s.person_id::int AS person_id, s.remote_id::int AS remote_id, c.notes
         FROM pipedrive_snapshots s LEFT JOIN person_crm_fields c USING (person_id) ORDER BY s.entity, s.person_id`,
    )
  ).rows;
/** What people_survive would make of the survivor's records (this test gives it none): its name and A's phone. */
const asSurvivor = async (survivor: number, absorbedPhone: string) => {
  await pool.query("UPDATE persons SET first_name = 'Cara', last_name = 'Moss', phone = $2 WHERE person_id = $1", [
    survivor,
    absorbedPhone,
  ]);
  await pool.query(
    `INSERT INTO person_phones (person_id, phone, verified, record_id, last_seq) VALUES ($1, $2, true, 0, 0)
     ON CONFLICT DO NOTHING`,
    [survivor, absorbedPhone],
  );
};

describe("golden record merges and Pipedrive", () => {
  it("a synced record merged into one never synced hands over its person and deal; an unmerge gives them back", async () => {
    const [a] = await seedLeads(pool, 1, 1);
    await sync();
    const notesKey = connections.pipedrive!.owner_field_map!["person.notes"]!;
    const person = [...fake.persons.values()][0]!;
    fake.edit("persons", person.id, { custom_fields: { [notesKey]: "call after five" } });
    await sync();
    const {
      rows: [c],
    } = await pool.query("INSERT INTO persons (first_name) VALUES ('Cara') RETURNING person_id::int AS id");
    const { rows: merged } = await pool.query("SELECT people_merge($1, $2, 'test') AS m", [c.id, a]);
    await asSurvivor(c.id, "+14152000001");
    expect(await links()).toEqual([
      { entity: "deal", person_id: c.id, remote_id: 1, notes: "call after five" },
      { entity: "person", person_id: c.id, remote_id: person.id, notes: "call after five" },
    ]);
    const posts = fake.stats.posts;
    const r = await sync();
    expect(r).toMatchObject({ created: 0, updated: 1, failed: 0 });
    expect(fake.stats.posts).toBe(posts);
    expect(fake.persons.size).toBe(1);
    expect(fake.persons.get(person.id)!.name).toBe("Cara Moss");

    await pool.query("SELECT people_unmerge($1, 'test')", [merged[0].m]);
    expect((await links()).map((l) => [l.entity, l.person_id, l.notes])).toEqual([
      ["deal", a, "call after five"],
      ["person", a, "call after five"],
    ]);
    expect((await pool.query("SELECT count(*)::int AS n FROM pipedrive_merge_moves")).rows[0].n).toBe(0);
  });

  it("a merge of two synced records keeps the survivor's and says in the audit log which it left", async () => {
    await pool.query("TRUNCATE pipedrive_snapshots, person_crm_fields, integration_cursors CASCADE");
    fake.persons.clear();
    fake.deals.clear();
    const [x, y] = await seedLeads(pool, 2, 2);
    await sync();
    const before = await links();
    const yPerson = before.find((l) => l.entity === "person" && l.person_id === y)!.remote_id;
    const yDeal = before.find((l) => l.entity === "deal" && l.person_id === y)!.remote_id;
    const { rows } = await pool.query("SELECT people_merge($1, $2, 'test') AS m", [x, y]);
    expect((await links()).map((l) => l.person_id)).toEqual([x, x]);
    const audit = await pool.query(
      "SELECT target, detail FROM console_audit WHERE action = 'merge left a CRM record' ORDER BY id",
    );
    expect(audit.rows).toEqual([
      {
        target: String(x),
        detail: {
          merge_id: Number(rows[0].m),
          absorbed: y,
          pipedrive: [
            { entity: "deal", remote_id: yDeal },
            { entity: "person", remote_id: yPerson },
          ],
        },
      },
    ]);
  });
});
