import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateSource, verifyRun } from "../../packages/local/src/commands/migrate";
import { Migration, People } from "@leadpipe/core";
import type { RunningMariaDb } from "../support/mariadb";
import { usePlatform } from "../support/platform";
import { row, SCHEMA, startLegacyCrm, TABLES } from "../support/legacy-crm";

const use = usePlatform("leadpipe-migrate-campaigns-", { chunkRows: 100, timeoutMs: 180_000 });
let maria: RunningMariaDb;
let mysqlUrl: string;

const expectComplete = (manifest: Migration.Manifest, tables = TABLES) =>
  expect(Migration.summary(manifest)).toEqual({ run_id: manifest.run_id, status: "COMPLETE", tables });

beforeAll(async () => {
  ({ maria, mysqlUrl } = await startLegacyCrm(path.join(use.tmp, "mariadb")));
}, 180_000);

afterAll(async () => {
  await maria?.stop();
});

/** What a run leaves in the canonical tables (lineage included), to compare runs by. */
async function landed(prefix: string) {
  const q = async (sql: string) => (await use.platform.pool.query(sql, [`${prefix}%`])).rows;
  return {
    campaigns: await q(
      `SELECT name, description, channels, created_at, legacy_id FROM campaigns WHERE legacy_id LIKE $1 ORDER BY legacy_id`,
    ),
    touchpoints: await q(
      `SELECT t.campaign, t.channel, t.customer_id, t.touched_on::text, t.legacy_id, r.source_key AS record,
              t.person_id = r.person_id AS follows_record
         FROM touchpoints t JOIN person_records r ON r.record_id = t.person_record_id
        WHERE t.legacy_id LIKE $1 ORDER BY t.legacy_id`,
    ),
    records: await q(
      `SELECT source_key, first_name, last_name, email, phone, ids, updated_at FROM person_records
        WHERE source_kind = 'legacy-contacts' AND source_key LIKE 'legacy_id=' || upper($1) ORDER BY source_key`,
    ),
  };
}

/** The golden record's contact points of the person landed from a legacy row. */
async function personOf(lineage: string) {
  const {
    rows: [r],
  } = await use.platform.pool.query<{ person_id: string }>(
    "SELECT person_id::text FROM person_records WHERE source_kind = 'legacy-contacts' AND source_key = $1",
    [`legacy_id=${lineage.toUpperCase()}`],
  );
  const id = r?.person_id;
  const list = async (sql: string) => (await use.platform.pool.query(sql, [id])).rows.map((x) => Object.values(x)[0]);
  return {
    id,
    records: await list(
      "SELECT source_key FROM person_records WHERE person_id = $1::bigint AND source_kind = 'legacy-contacts' ORDER BY 1",
    ),
    phones: await list("SELECT phone FROM person_phones WHERE person_id = $1::bigint ORDER BY 1"),
    emails: await list("SELECT email FROM person_emails WHERE person_id = $1::bigint ORDER BY 1"),
    addresses: await list(
      "SELECT address_line1 || ' ' || zip5 FROM person_addresses WHERE person_id = $1::bigint ORDER BY 1",
    ),
  };
}

/** Bob's person record (landed from the second legacy customer). */
async function bobsRecord() {
  const { rows } = await use.platform.pool.query<{ record_id: string; person_id: string; import_id: string }>(
    `SELECT record_id::text, person_id::text, import_id::text FROM person_records
      WHERE source_kind = 'legacy-contacts' AND source_key = 'legacy_id=MYSQL:CRM/CUSTOMERS/2'`,
  );
  return rows[0]!;
}

/** Bob's touchpoint (the third legacy touchpoint): the golden record it names and its person record's. */
async function bobsTouchpoint() {
  const { rows } = await use.platform.pool.query<{ person_id: string | null; record_person: string | null }>(
    `SELECT t.person_id::text, r.person_id::text AS record_person
       FROM touchpoints t JOIN person_records r ON r.record_id = t.person_record_id
      WHERE t.legacy_id = 'mysql:crm/touchpoints/3'`,
  );
  return rows[0]!;
}

let runId: string;
let first: Awaited<ReturnType<typeof landed>>;

describe("leadpipe migrate: campaigns, touchpoints and child tables from MariaDB", () => {
  it("infers the targets: campaigns and touchpoints by name, phones and emails as children of customers", async () => {
    const reader = await Migration.openReader(mysqlUrl);
    try {
      const specs = Migration.tableSpecs(await reader.tables());
      const by = Object.fromEntries(specs.map((s) => [s.table, s]));
      expect(by.campaigns).toMatchObject({
        target: "campaigns",
        fields: { name: "name", channel: "channel", description: "description", created_at: "created_at" },
      });
      expect(by.touchpoints).toMatchObject({
        target: "touchpoints",
        fields: { campaign_id: "campaign", customer_id: "person", channel: "channel", sent_at: "touched_at" },
        refs: { campaign: "campaigns", person: "customers" },
      });
      // phones by its foreign key, emails by the <table>_id convention
      expect(by.phones).toMatchObject({ target: "contacts", fields: { phone: "phone" } });
      expect(by.phones!.parent).toMatchObject({ column: "customer_id", table: "customers", key: "id" });
      expect(by.emails!.parent).toMatchObject({ column: "customer_id", table: "customers" });
      expect(by.customers).toMatchObject({ target: "contacts", linked: true });
    } finally {
      await reader.close();
    }
  });

  it("lands them through their imports, refused rows quarantined, counts balanced, checksums equal", async () => {
    const manifest = await migrateSource(use.platform, { from: mysqlUrl, rangeRows: 2 });
    runId = manifest.run_id;
    expectComplete(manifest);
    const { rows: q } = await use.platform.pool.query(
      "SELECT table_name, pk, stage, reason FROM migration_quarantine WHERE run_id = $1 ORDER BY table_name, pk",
      [runId],
    );
    expect(q).toEqual([
      {
        table_name: "campaigns",
        pk: "3",
        stage: "import",
        reason: expect.stringMatching(/^rejected by import .*: name: a campaign name needs a letter or digit$/),
      },
      { table_name: "customers", pk: "3", stage: "import", reason: expect.stringMatching(/email: /) },
      { table_name: "emails", pk: "2", stage: "cast", reason: "customer_id: no customers row 9" },
      { table_name: "phones", pk: "4", stage: "cast", reason: "customer_id: no customers row named (NULL)" },
      {
        table_name: "touchpoints",
        pk: "4",
        stage: "import",
        reason: expect.stringMatching(/campaign: no campaign mysql:crm\/campaigns\/3 /),
      },
      {
        table_name: "touchpoints",
        pk: "5",
        stage: "import",
        reason: expect.stringMatching(/person: no person record landed from mysql:crm\/customers\/3$/),
      },
    ]);
    first = await landed("mysql:crm/");
    expect(first.campaigns).toEqual([
      {
        name: "spring-mailer-2020",
        description: "Spring refinance",
        channels: ["mail"],
        created_at: new Date("2020-03-01T09:00:00Z"),
        legacy_id: "mysql:crm/campaigns/1",
      },
      {
        name: "e-mail-blast",
        description: "",
        channels: ["email"],
        created_at: expect.any(Date),
        legacy_id: "mysql:crm/campaigns/2",
      },
    ]);
    // Each touchpoint is the person record landed from its customer row, and follows its golden record.
    expect(first.touchpoints).toEqual([
      {
        campaign: "spring-mailer-2020",
        channel: "mail",
        customer_id: "mysql:crm/customers/1",
        touched_on: "2020-03-02",
        legacy_id: "mysql:crm/touchpoints/1",
        record: "legacy_id=MYSQL:CRM/CUSTOMERS/1",
        follows_record: true,
      },
      {
        campaign: "e-mail-blast",
        channel: "email",
        customer_id: "mysql:crm/customers/1",
        touched_on: "2020-03-05",
        legacy_id: "mysql:crm/touchpoints/2",
        record: "legacy_id=MYSQL:CRM/CUSTOMERS/1",
        follows_record: true,
      },
      {
        campaign: "spring-mailer-2020",
        channel: "mail",
        customer_id: "mysql:crm/customers/2",
        touched_on: "2020-03-02",
        legacy_id: "mysql:crm/touchpoints/3",
        record: "legacy_id=MYSQL:CRM/CUSTOMERS/2",
        follows_record: true,
      },
    ]);
  }, 300_000);

  it("a child table's rows are contact points of their parent's person", async () => {
    const ann = await personOf("mysql:crm/customers/1");
    expect(ann.id).toBeTruthy();
    expect(ann.records).toEqual([
      "legacy_id=MYSQL:CRM/CUSTOMERS/1",
      "legacy_id=MYSQL:CRM/EMAILS/1",
      "legacy_id=MYSQL:CRM/PHONES/1",
      "legacy_id=MYSQL:CRM/PHONES/2",
    ]);
    expect(ann.phones).toEqual(["+16175550101", "+16175550111"]);
    expect(ann.emails).toEqual(["ann.smith@work.example", "ann@example.com"]);
    const bob = await personOf("mysql:crm/customers/2");
    expect(bob.id).not.toBe(ann.id);
    expect(bob.phones).toEqual(["+16175550102"]);
    expect(bob.addresses).toEqual(["12 MAIN ST 02110"]);
    // The child's record carries its parent's name; its own row's columns are kept as they were.
    const phone = first.records.find((r) => r.source_key === "legacy_id=MYSQL:CRM/PHONES/1");
    expect(phone).toMatchObject({ first_name: "Ann", last_name: "Smith", email: null, phone: "+16175550101" });
  });
});

describe("leadpipe migrate: the MariaDB run verified, run again and resumed", () => {
  it("verify reads the source again: the same counts, checksums equal", async () => {
    expectComplete(await verifyRun(use.platform, runId, mysqlUrl));
  }, 120_000);

  it("migrating again, or resuming after lost checkpoints, changes nothing and doubles nothing", async () => {
    const again = await migrateSource(use.platform, { from: mysqlUrl, rangeRows: 2 });
    expect(again.run_id).not.toBe(runId);
    expectComplete(again);
    expect(await landed("mysql:crm/")).toEqual(first);
    // A run killed before its touchpoints and part of its phones landed: resume lands them again.
    await use.platform.pool.query(
      `DELETE FROM migration_ranges WHERE run_id = $1 AND (table_name = 'touchpoints' OR (table_name = 'phones' AND range_no >= 1))`,
      [again.run_id],
    );
    await use.platform.pool.query("UPDATE migration_runs SET status = 'RUNNING' WHERE run_id = $1", [again.run_id]);
    const resumed = await migrateSource(use.platform, { from: mysqlUrl, resume: again.run_id });
    expect(resumed.run_id).toBe(again.run_id);
    expectComplete(resumed);
    expect(await landed("mysql:crm/")).toEqual(first);
    const {
      rows: [n],
    } = await use.platform.pool.query(
      `SELECT (SELECT count(*) FROM touchpoints WHERE legacy_id LIKE 'mysql:crm/%')::int AS touchpoints,
              (SELECT count(*) FROM campaigns WHERE legacy_id LIKE 'mysql:crm/%')::int AS campaigns`,
    );
    expect(n).toEqual({ touchpoints: 3, campaigns: 2 });
  }, 300_000);

  it("verify finds a campaign changed on the source down to its row and column", async () => {
    const root = await maria.root();
    await root.query("UPDATE crm.campaigns SET description = 'Spring refi' WHERE id = 1");
    await root.end();
    const changed = Migration.summary(await verifyRun(use.platform, runId, mysqlUrl));
    expect(changed.status).toBe("UNBALANCED");
    expect(changed.tables.find((t) => t.table === "campaigns")).toMatchObject({
      checksums_match: false,
      differences: [{ pk: "1", columns: ["description"], reason: "landed values differ from the source" }],
    });
    const root2 = await maria.root();
    await root2.query("UPDATE crm.campaigns SET description = 'Spring  refinance' WHERE id = 1");
    await root2.end();
  }, 120_000);

  it("touchpoints follow their records through later merges, unmerges and splits, without a migration run", async () => {
    // Which golden record each legacy touchpoint names, and its record's.
    const touchpoints = async () =>
      (
        await use.platform.pool.query<{ legacy_id: string; person_id: string; record_person: string }>(
          `SELECT t.legacy_id, t.person_id::text, r.person_id::text AS record_person
             FROM touchpoints t JOIN person_records r ON r.record_id = t.person_record_id
            WHERE t.legacy_id LIKE 'mysql:crm/%' ORDER BY t.legacy_id`,
        )
      ).rows;
    const ann = Number((await personOf("mysql:crm/customers/1")).id);
    const bob = Number((await personOf("mysql:crm/customers/2")).id);
    expect(ann).not.toBe(bob);
    const before = await touchpoints();
    expect(before.map((t) => [t.legacy_id, Number(t.person_id)])).toEqual([
      ["mysql:crm/touchpoints/1", ann],
      ["mysql:crm/touchpoints/2", ann],
      ["mysql:crm/touchpoints/3", bob],
    ]);
    const who = { username: "stew", via: "cli", requireReason: false };
    // A steward merges Bob into Ann (people_merge, as the people consumer's resolution merges): Bob's touchpoint moves.
    const { merge_id } = await People.Steward.merge(use.platform.pool, who, ann, bob, null);
    expect((await touchpoints()).map((t) => Number(t.person_id))).toEqual([ann, ann, ann]);
    // Undone (people_unmerge): it comes back to Bob.
    await People.Steward.unmergeById(use.platform.pool, who, merge_id, null);
    expect(await touchpoints()).toEqual(before);
    // Ann's customer record split out of her golden record (people_split_record): her touchpoints go with it.
    const {
      rows: [rec],
    } = await use.platform.pool.query<{ record_id: string }>(
      "SELECT record_id FROM person_records WHERE source_kind = 'legacy-contacts' AND source_key = $1",
      ["legacy_id=MYSQL:CRM/CUSTOMERS/1"],
    );
    const split = await People.Steward.unmerge(use.platform.pool, who, ann, Number(rec!.record_id), "test");
    expect(split.person_id).not.toBe(ann);
    const after = await touchpoints();
    expect(after.map((t) => Number(t.person_id))).toEqual([split.person_id, split.person_id, bob]);
    expect(after.every((t) => t.person_id === t.record_person)).toBe(true);
  }, 120_000);

  it("a merge committed while touchpoints follow their people is kept: they do not write it back", async () => {
    const pool = use.platform.pool;
    const bob = await bobsRecord();
    const ann = (await personOf("mysql:crm/customers/1")).id!;
    expect(ann).not.toBe(bob.person_id);
    // Bob's touchpoint as promoted before his record was resolved: no golden record yet.
    await pool.query("UPDATE touchpoints SET person_id = NULL WHERE legacy_id = 'mysql:crm/touchpoints/3'");
    const merging = await pool.connect();
    try {
      // A merge moves Bob's record to Ann and, by the trigger, his touchpoint; it has not committed yet.
      await merging.query("BEGIN");
      await merging.query("UPDATE person_records SET person_id = $2 WHERE record_id = $1", [bob.record_id, ann]);
      const following = Migration.followPeople(pool);
      // Touchpoints follow their people meanwhile: their update waits for the merge's row lock.
      for (let waited = 0; ; waited += 50) {
        const { rows } = await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%legacy_touchpoints_follow_people%'`,
        );
        if (rows.length) break;
        if (waited > 20_000) throw new Error("the touchpoints' update never waited for the merge");
        await new Promise((r) => setTimeout(r, 50));
      }
      await merging.query("COMMIT");
      await following;
      expect(await bobsTouchpoint()).toEqual({ person_id: ann, record_person: ann });
    } finally {
      merging.release();
      // Bob's record back to his golden record: the trigger takes his touchpoint with it.
      await pool.query("UPDATE person_records SET person_id = $2 WHERE record_id = $1", [bob.record_id, bob.person_id]);
    }
    expect(await bobsTouchpoint()).toEqual({ person_id: bob.person_id, record_person: bob.person_id });
  }, 120_000);

  it("a legacy record resolved for the first time outside a run takes its touchpoints with it", async () => {
    const pool = use.platform.pool;
    const bob = await bobsRecord();
    // Bob's record as if its people resolution had failed in the run and were retried later (no run to follow it):
    // never resolved (no golden record, keys, links or counted values), its import not resolved, its touchpoint naming
    // no golden record.
    await pool.query("DELETE FROM person_keys WHERE record_id = $1", [bob.record_id]);
    await pool.query("DELETE FROM person_links WHERE record_id = $1 OR matched_record_id = $1", [bob.record_id]);
    await pool.query(
      "UPDATE person_records SET person_id = NULL, resolved_at = NULL, counted_keys = NULL WHERE record_id = $1",
      [bob.record_id],
    );
    await pool.query("DELETE FROM people_resolutions WHERE import_id = $1", [bob.import_id]);
    expect(await bobsTouchpoint()).toEqual({ person_id: null, record_person: null });
    await People.resolveImport({ pool }, bob.import_id);
    const after = await bobsTouchpoint();
    expect(after.record_person).not.toBeNull();
    expect(after.person_id).toBe(after.record_person);
  }, 120_000);
});

describe("leadpipe migrate: campaigns, touchpoints and child tables from SQLite", () => {
  it("infers child tables from foreign_key_list and lands the same shape", async () => {
    const { default: Database } = await import("better-sqlite3");
    const file = path.join(use.tmp, "crm.sqlite");
    const db = new Database(file);
    // Campaign names of their own: a name belongs to one legacy row (the MariaDB run's hold these).
    db.exec(SCHEMA("Old ", (col, table) => `, FOREIGN KEY (${col}) REFERENCES ${table} (id)`));
    // A name the MariaDB run's campaign 1 holds: refused, naming its owner.
    db.exec("INSERT INTO campaigns VALUES (4, 'Spring mailer, 2020', 'mail', NULL, NULL)");
    db.close();
    const manifest = await migrateSource(use.platform, { from: `sqlite:${file}`, rangeRows: 2 });
    expectComplete(manifest, [TABLES[0]!, row("campaigns", 4, 2, 2), ...TABLES.slice(2)]);
    const {
      rows: [taken],
    } = await use.platform.pool.query(
      "SELECT reason FROM migration_quarantine WHERE run_id = $1 AND table_name = 'campaigns' AND pk = '4'",
      [manifest.run_id],
    );
    expect(taken.reason).toMatch(/name: campaign name spring-mailer-2020 already belongs to mysql:crm\/campaigns\/1$/);
    const sqlite = await landed("sqlite:crm.sqlite/");
    expect(sqlite.touchpoints.map((t) => [t.campaign, t.customer_id, t.touched_on])).toEqual([
      ["old-spring-mailer-2020", "sqlite:crm.sqlite/customers/1", "2020-03-02"],
      ["old-e-mail-blast", "sqlite:crm.sqlite/customers/1", "2020-03-05"],
      ["old-spring-mailer-2020", "sqlite:crm.sqlite/customers/2", "2020-03-02"],
    ]);
    expect(sqlite.campaigns.map((c) => c.name)).toEqual(["old-spring-mailer-2020", "old-e-mail-blast"]);
    expect(sqlite.touchpoints.every((t) => t.follows_record)).toBe(true);
    // Phones by the foreign key SQLite declares: Ann's person has both of hers.
    expect((await personOf("sqlite:crm.sqlite/customers/1")).records).toContain("legacy_id=SQLITE:CRM.SQLITE/PHONES/2");
  }, 300_000);
});
