import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalPlatform } from "../../packages/local/src/platform";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { manifestKey, migrateSource, replayQuarantine, verifyRun } from "../../packages/local/src/commands/migrate";
import { Migration } from "@leadpipe/core";
import { startMariaDb, type RunningMariaDb } from "../support/mariadb";

let platform: LocalPlatform;
let maria: RunningMariaDb;
let tmp: string;
let mysqlUrl: string;
let mappingPath: string;

// The legacy schema: unsigned bigint keys, a latin1 column holding UTF-8 bytes (mojibake), zero and
// impossible dates (ALLOW_INVALID_DATES, as old MySQL servers ran), DECIMAL, NULL vs empty, a bad e-mail.
const SEED = `
SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
CREATE DATABASE legacy CHARACTER SET utf8mb4;
USE legacy;
CREATE TABLE customers (
  id BIGINT UNSIGNED PRIMARY KEY, fname VARCHAR(50), lname VARCHAR(50) CHARACTER SET latin1, email VARCHAR(100),
  phone VARCHAR(30), zip VARCHAR(10), dob DATE, created DATETIME, balance DECIMAL(14,2), notes TEXT,
  visits BIGINT UNSIGNED, password_hash VARCHAR(100)
);
INSERT INTO customers VALUES
  (1, 'Ann', 'Smith', 'ann@example.com', '617-555-0101', '02116', '1980-02-29', '2020-03-01 12:00:00', 12345678901.23, '', 18446744073709551615, 'x1'),
  (2, 'Hans', 'MÃ¼ller', 'hans@example.com', '617-555-0102', '02117', '0000-00-00', '2021-02-30 10:00:00', 0.10, NULL, 0, 'x2'),
  (3, 'Eve', 'MÃ¼ller €', 'eve@example.com', NULL, '02118', NULL, NULL, NULL, NULL, NULL, 'x3'),
  (4, 'Bob', 'Jones', 'not-an-email', NULL, '02119', NULL, NULL, NULL, NULL, NULL, 'x4'),
  (18446744073709551615, ' Carol ', 'Day', NULL, NULL, '', '1975-06-15', '2019-11-03 01:30:00', -5.50, 'line1\nline2', 1, 'x5');
CREATE TABLE prospects (pid INT PRIMARY KEY, first_name VARCHAR(50), last_name VARCHAR(50), e_mail VARCHAR(100));
INSERT INTO prospects VALUES (10, 'Ann', 'Smith', 'ann@example.com'), (11, 'Dan', 'Ray', NULL);
CREATE TABLE audit_log (id INT PRIMARY KEY, action VARCHAR(20));
INSERT INTO audit_log VALUES (1, 'login'), (2, 'logout');
CREATE DATABASE compliance CHARACTER SET utf8mb4;
USE compliance;
CREATE TABLE email_optouts (id INT PRIMARY KEY, email VARCHAR(100), unsubscribed_at DATETIME, reason VARCHAR(50), list_code VARCHAR(10));
INSERT INTO email_optouts VALUES
  (1, 'Ann@Example.com', '2020-05-01 09:00:00', 'asked', 'NL'),
  (2, 'bob@example.com', '0000-00-00 00:00:00', NULL, 'NL'),
  (3, 'not-an-email', '2021-01-01 00:00:00', 'typo', NULL);
CREATE TABLE dnc_list (id INT PRIMARY KEY, phone VARCHAR(20), added DATE);
INSERT INTO dnc_list VALUES (1, '(212) 555-0101', '2020-01-01'), (2, '+1 646 555 0102', NULL), (3, '555-0103', NULL);
CREATE USER 'legacy'@'127.0.0.1' IDENTIFIED BY 'legacy-pass';
GRANT SELECT ON legacy.* TO 'legacy'@'127.0.0.1';
GRANT SELECT ON compliance.* TO 'legacy'@'127.0.0.1';
-- RELOAD: the lock that starts the parallel lanes' snapshots at one point in time (--parallel, default 2).
GRANT RELOAD ON *.* TO 'legacy'@'127.0.0.1';
`;

const mapping = {
  timeZone: "America/New_York",
  tables: {
    customers: { columns: { password_hash: "drop" } },
    prospects: { columns: { e_mail: "email" } },
    audit_log: { target: "drop" },
  },
};

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-migrate-"));
  process.env.LOG_LEVEL = "silent";
  maria = await startMariaDb(path.join(tmp, "mariadb"));
  const root = await maria.root();
  await root.query(SEED);
  await root.end();
  mysqlUrl = `mysql://legacy:legacy-pass@127.0.0.1:${maria.port}/legacy`;
  mappingPath = mappingFile("mapping.json", mapping);
  platform = await LocalPlatform.start({
    home: path.join(tmp, "home"),
    chunkRows: 100,
    retryIntervalMs: 20,
    log: () => undefined,
  });
}, 180_000);

afterAll(async () => {
  await platform?.close();
  await maria?.stop();
  if (platform?.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A landed opt-out or do-not-call row with its lineage: the legacy row its import's source row came from. */
const LINEAGE = `
  JOIN imports i ON i.id = t.import_id
  JOIN migration_rows m ON m.object_key = i.object_key AND m.source_row = t.source_row`;
const optOutsOf = async (table: string) =>
  (
    await platform.pool.query(
      `SELECT t.channel, t.value, t.opted_out_at, t.reason, m.lineage, m.extra FROM opt_outs t ${LINEAGE}
        WHERE m.table_name = $1 ORDER BY m.lineage`,
      [table],
    )
  ).rows;
const dncOf = async (table: string) =>
  (
    await platform.pool.query(
      `SELECT t.phone::text, t.listed, m.lineage, m.extra FROM dnc_numbers t ${LINEAGE}
        WHERE m.table_name = $1 ORDER BY m.lineage`,
      [table],
    )
  ).rows;

/** A table's line of a balanced manifest whose checksums match. */
const row = (table: string, source_rows: number, loaded: number, quarantined: number, dropped: number) => ({
  table,
  source_rows,
  loaded,
  quarantined,
  dropped,
  checksums_match: true,
});
const expectComplete = (manifest: Migration.Manifest, tables: ReturnType<typeof row>[]) =>
  expect(Migration.summary(manifest)).toEqual({ run_id: manifest.run_id, status: "COMPLETE", tables });

/** Writes a mapping file into the test's folder; returns its path. */
const mappingFile = (name: string, json: unknown) => {
  const file = path.join(tmp, name);
  writeFileSync(file, JSON.stringify(json));
  return file;
};

const recordOf = async (lineage: string) =>
  (
    await platform.pool.query(
      "SELECT first_name, last_name, email, dob::text AS dob, raw FROM person_records WHERE source_kind = 'legacy-contacts' AND source_key = $1",
      [`legacy_id=${lineage.toUpperCase()}`],
    )
  ).rows[0];

/** The legacy database's tables after a run: every row landed, quarantined or dropped. */
const MARIADB_TABLES = [row("audit_log", 2, 0, 0, 2), row("customers", 5, 3, 2, 0), row("prospects", 2, 2, 0, 0)];

describe("leadpipe migrate from MariaDB", () => {
  let runId: string;

  it("lands every row or quarantines it, with the counts balanced and the checksums equal", async () => {
    const manifest = await migrateSource(platform, {
      from: mysqlUrl,
      mapping: mappingPath,
      rangeRows: 2,
    });
    runId = manifest.run_id;
    expectComplete(manifest, MARIADB_TABLES);
    const { rows: q } = await platform.pool.query(
      "SELECT table_name, pk, stage, reason, row->>'lname' AS lname FROM migration_quarantine WHERE run_id = $1 ORDER BY pk",
      [runId],
    );
    expect(q).toEqual([
      {
        table_name: "customers",
        pk: "3",
        stage: "cast",
        lname: "MÃ¼ller €",
        reason: 'lname: text looks like latin1-read UTF-8 but mixes other characters: "MÃ¼ller €"',
      },
      {
        table_name: "customers",
        pk: "4",
        stage: "import",
        lname: "Jones",
        reason: expect.stringMatching(/^rejected by import .*: email: /),
      },
    ]);
  }, 240_000);

  it("casts without losing a value: big integers, decimals, zero and impossible dates, repaired latin1, time zones", async () => {
    const ann = await recordOf("mysql:legacy/customers/1");
    expect(ann).toMatchObject({ first_name: "Ann", last_name: "Smith", email: "ann@example.com", dob: "1980-02-29" });
    expect(ann.raw.extra).toEqual({
      table: "customers",
      pk: "1",
      columns: {
        id: "1",
        created: "2020-03-01T17:00:00Z",
        balance: "12345678901.23",
        notes: "",
        visits: "18446744073709551615",
      },
    });
    const hans = await recordOf("mysql:legacy/customers/2");
    expect(hans).toMatchObject({ first_name: "Hans", last_name: "Müller", dob: null });
    expect(hans.raw.extra).toEqual({
      table: "customers",
      pk: "2",
      columns: { id: "2", created: null, balance: "0.10", notes: null, visits: "0" },
      flags: {
        dob: { raw: "0000-00-00", reason: "zero date" },
        created: { raw: "2021-02-30 10:00:00", reason: "impossible date" },
      },
    });
    const carol = await recordOf("mysql:legacy/customers/18446744073709551615");
    expect(carol).toMatchObject({ first_name: "Carol", last_name: "Day", dob: "1975-06-15" });
    // NULL and empty stay apart; a value the CSV cell would trim or fold is kept exactly.
    expect(carol.raw.extra).toEqual({
      table: "customers",
      pk: "18446744073709551615",
      columns: {
        id: "18446744073709551615",
        created: "2019-11-03T05:30:00Z",
        balance: "-5.50",
        notes: "line1\nline2",
        visits: "1",
      },
      exact: { fname: " Carol ", zip: "" },
    });
    const {
      rows: [dropped],
    } = await platform.pool.query(
      "SELECT count(*)::int AS n FROM person_records WHERE source_kind = 'legacy-contacts' AND raw::text LIKE '%password_hash%'",
    );
    expect(dropped.n).toBe(0);
  });

  it("a person repeated across legacy rows becomes one golden record; others stay apart", async () => {
    await platform.peopleIdle();
    const { rows } = await platform.pool.query<{ source_key: string; person_id: string | null }>(
      `SELECT source_key, person_id::text FROM person_records
        WHERE source_kind = 'legacy-contacts' AND source_key = ANY($1) ORDER BY source_key`,
      [["customers/1", "prospects/10", "prospects/11"].map((k) => `legacy_id=MYSQL:LEGACY/${k.toUpperCase()}`)],
    );
    expect(rows.map((r) => r.source_key)).toEqual([
      "legacy_id=MYSQL:LEGACY/CUSTOMERS/1",
      "legacy_id=MYSQL:LEGACY/PROSPECTS/10",
      "legacy_id=MYSQL:LEGACY/PROSPECTS/11",
    ]);
    const [ann, annAgain, dan] = rows.map((r) => r.person_id);
    expect(ann).not.toBeNull();
    // Ann Smith, ann@example.com, in customers and in prospects: one person, two records
    expect(annAgain).toBe(ann);
    expect(dan).not.toBe(ann);
  });

  it("migrating the same source again changes nothing: every range is a DUPLICATE import", async () => {
    const before = await platform.pool.query(
      "SELECT record_id, source_key, updated_at, raw FROM person_records WHERE source_kind = 'legacy-contacts' ORDER BY record_id",
    );
    const {
      rows: [{ seq }],
    } = await platform.pool.query("SELECT max(seq) AS seq FROM imports");
    const again = await migrateSource(platform, {
      from: mysqlUrl,
      mapping: mappingPath,
      rangeRows: 2,
    });
    expect(again.run_id).not.toBe(runId);
    expectComplete(again, MARIADB_TABLES);
    const { rows: statuses } = await platform.pool.query(
      "SELECT status, count(*)::int AS n FROM imports WHERE seq > $1 GROUP BY status",
      [seq],
    );
    expect(statuses).toEqual([{ status: "DUPLICATE", n: 4 }]);
    const after = await platform.pool.query(
      "SELECT record_id, source_key, updated_at, raw FROM person_records WHERE source_kind = 'legacy-contacts' ORDER BY record_id",
    );
    expect(after.rows).toEqual(before.rows);
  }, 240_000);

  it("replay-quarantine lands the quarantined rows after a mapping fix, once", async () => {
    // The fix: keep lname's text as written (not repaired, not refused) and the unusable e-mail as an extra column.
    const fixed = {
      ...mapping,
      tables: {
        ...mapping.tables,
        customers: { columns: { password_hash: "drop", email: "extra" }, cast: { lname: "binary" } },
      },
    } as const;
    const fixedFile = mappingFile("mapping-fixed.json", fixed);
    const replayed = await replayQuarantine(platform, runId, {
      from: mysqlUrl,
      table: "customers",
      mapping: fixedFile,
    });
    const tables = [row("audit_log", 2, 0, 0, 2), row("customers", 5, 5, 0, 0), row("prospects", 2, 2, 0, 0)];
    expectComplete(replayed, tables);
    expect(await recordOf("mysql:legacy/customers/3")).toMatchObject({ first_name: "Eve", last_name: "MÃ¼ller €" });
    const bob = await recordOf("mysql:legacy/customers/4");
    expect(bob).toMatchObject({ first_name: "Bob", last_name: "Jones", email: null });
    expect(bob.raw.extra.columns.email).toBe("not-an-email");
    const { rows: q } = await platform.pool.query(
      "SELECT pk, resolved_at IS NOT NULL AS resolved FROM migration_quarantine WHERE run_id = $1 ORDER BY pk",
      [runId],
    );
    expect(q).toEqual([
      { pk: "3", resolved: true },
      { pk: "4", resolved: true },
    ]);
    // Again: nothing is left to replay; nothing lands, nothing changes.
    const {
      rows: [{ seq }],
    } = await platform.pool.query("SELECT max(seq) AS seq FROM imports");
    const again = await replayQuarantine(platform, runId, {
      from: mysqlUrl,
      mapping: fixedFile,
    });
    expectComplete(again, tables);
    const { rows: after } = await platform.pool.query("SELECT count(*)::int AS n FROM imports WHERE seq > $1", [seq]);
    expect(after).toEqual([{ n: 0 }]);
    const { rows: replays } = await platform.pool.query(
      "SELECT range_no, jsonb_array_length(replays) AS n FROM migration_ranges WHERE run_id = $1 AND replays <> '[]'",
      [runId],
    );
    expect(replays).toEqual([{ range_no: 1, n: 1 }]);
  }, 240_000);

  it("replay-quarantine refuses a mapping that changes a table's target or key", async () => {
    const retarget = mappingFile("mapping-retarget.json", {
      ...mapping,
      tables: { ...mapping.tables, audit_log: { target: "contacts", key: ["action"] } },
    });
    await expect(replayQuarantine(platform, runId, { from: mysqlUrl, mapping: retarget })).rejects.toThrow(
      /the mapping changes audit_log's target or key/,
    );
  });

  it("verify finds a value changed on the source after the run, down to its row and column", async () => {
    const same = await verifyRun(platform, runId, mysqlUrl);
    expect(same.status).toBe("COMPLETE");
    const root = await maria.root();
    await root.query("UPDATE legacy.customers SET email = 'hans.mueller@example.com' WHERE id = 2");
    await root.end();
    const changed = await verifyRun(platform, runId, mysqlUrl);
    expect(changed.status).toBe("UNBALANCED");
    const customers = changed.tables.find((t) => t.table === "customers")!;
    expect(customers).toMatchObject({
      source_rows: 5,
      loaded: 5,
      quarantined: 0,
      checksums_match: false,
      differences: [{ pk: "2", columns: ["email"], reason: "landed values differ from the source" }],
    });
    expect(changed.tables.filter((t) => t.table !== "customers").every((t) => t.checksums_match)).toBe(true);
    const stored = await platform.s3.send(new GetObjectCommand({ Bucket: platform.bucket, Key: manifestKey(runId) }));
    expect(JSON.parse(await stored.Body!.transformToString())).toMatchObject({ run_id: runId, status: "UNBALANCED" });
  }, 120_000);
});

describe("leadpipe migrate of opt-out and do-not-call tables from MariaDB", () => {
  it("infers the targets from the tables' names, lands them through their sources and keeps the lineage", async () => {
    const manifest = await migrateSource(platform, {
      from: `mysql://legacy:legacy-pass@127.0.0.1:${maria.port}/compliance`,
      timeZone: "America/New_York",
    });
    expectComplete(manifest, [row("dnc_list", 3, 2, 1, 0), row("email_optouts", 3, 1, 2, 0)]);
    expect(await optOutsOf("email_optouts")).toEqual([
      {
        channel: "email",
        value: "ann@example.com",
        opted_out_at: new Date("2020-05-01T13:00:00Z"),
        reason: "asked",
        lineage: "mysql:compliance/email_optouts/1",
        extra: { table: "email_optouts", pk: "1", columns: { id: "1", list_code: "NL" } },
      },
    ]);
    expect(await dncOf("dnc_list")).toEqual([
      {
        phone: "2125550101",
        listed: true,
        lineage: "mysql:compliance/dnc_list/1",
        extra: { table: "dnc_list", pk: "1", columns: { id: "1", added: "2020-01-01" } },
      },
      {
        phone: "6465550102",
        listed: true,
        lineage: "mysql:compliance/dnc_list/2",
        extra: { table: "dnc_list", pk: "2", columns: { id: "2", added: null } },
      },
    ]);
    const { rows: q } = await platform.pool.query(
      "SELECT table_name, pk, stage, reason FROM migration_quarantine WHERE run_id = $1 ORDER BY table_name, pk",
      [manifest.run_id],
    );
    expect(q).toEqual([
      {
        table_name: "dnc_list",
        pk: "3",
        stage: "import",
        reason: expect.stringMatching(/^rejected by import .*: number: /),
      },
      {
        table_name: "email_optouts",
        pk: "2",
        stage: "import",
        reason: expect.stringMatching(/^rejected by import .*: opted_out_at: /),
      },
      {
        table_name: "email_optouts",
        pk: "3",
        stage: "import",
        reason: expect.stringMatching(/^rejected by import .*: value: /),
      },
    ]);
  }, 240_000);
});

describe("leadpipe migrate from a CSV folder", () => {
  it("reads each file as a table keyed by row number, casts declared columns and quarantines invalid bytes", async () => {
    const folder = path.join(tmp, "campaigns");
    mkdirSync(folder);
    writeFileSync(
      path.join(folder, "spring.csv"),
      "First Name,Last Name,Email,Signup Date,Source Code\n" +
        "Ann,Smith,ann@example.com,2021-04-01,SPR\nJosÃ©,Ortiz,jose@example.com,2021-02-30,SPR\nZoe,Kim,,,\n",
    );
    writeFileSync(
      path.join(folder, "summer.csv"),
      Buffer.concat([Buffer.from("first,last\nMia,Lopez\nLe"), Buffer.from([0xff, 0xfe]), Buffer.from("a,Brun\n")]),
    );
    const manifest = await migrateSource(platform, {
      from: `csv:${folder}`,
      mapping: mappingFile("csv-mapping.json", { tables: { spring: { cast: { "Signup Date": "date" } } } }),
    });
    expectComplete(manifest, [row("spring", 3, 3, 0, 0), row("summer", 2, 1, 1, 0)]);
    const jose = await recordOf("csv:campaigns/spring/2");
    expect(jose).toMatchObject({ first_name: "José", last_name: "Ortiz" });
    expect(jose.raw.extra).toEqual({
      table: "spring",
      pk: "2",
      columns: { _row: "2", "Signup Date": null, "Source Code": "SPR" },
      flags: { "Signup Date": { raw: "2021-02-30", reason: "impossible date" } },
    });
    const { rows: q } = await platform.pool.query(
      "SELECT table_name, pk, reason FROM migration_quarantine WHERE run_id = $1",
      [manifest.run_id],
    );
    expect(q).toEqual([{ table_name: "summer", pk: "2", reason: "first: invalid bytes in the text (U+FFFD)" }]);

    writeFileSync(
      path.join(folder, "spring.csv"),
      "First Name,Last Name,Email,Signup Date,Source Code\n" +
        "Ann,Smith,ann@example.com,2021-04-01,SPR\nJosÃ©,Ortiz,jose@example.com,2021-02-30,SPR\nZoe,Kim,,,SUM\n",
    );
    const changed = await verifyRun(platform, manifest.run_id);
    expect(changed.tables[0]).toMatchObject({
      table: "spring",
      checksums_match: false,
      differences: [
        { pk: "*", columns: [], reason: expect.stringMatching(/^spring\.csv changed since the run \(sha256 /) },
        { pk: "3", columns: ["Source Code"], reason: "landed values differ from the source" },
      ],
    });
    expect(changed.tables[1]).toMatchObject({ table: "summer", checksums_match: true });
  }, 240_000);
});

describe("leadpipe migrate from an SQLite file", () => {
  it("reads in one transaction, big integers as digits, and balances", async () => {
    let Database: typeof import("better-sqlite3");
    try {
      Database = (await import("better-sqlite3")).default;
      new Database(":memory:").close();
    } catch (err) {
      throw new Error(
        `better-sqlite3 cannot load (its native build is missing: npm rebuild better-sqlite3): ${(err as Error).message}`,
      );
    }
    const file = path.join(tmp, "crm.sqlite");
    const db = new Database(file);
    db.exec(`CREATE TABLE contacts (contact_id INTEGER PRIMARY KEY, full_name TEXT, phone TEXT, dob DATE, score NUMERIC, ext_id INTEGER);
      INSERT INTO contacts VALUES (1, 'Ann Smith', '617-555-0101', '1980-02-29', 12.5, 9007199254740993),
                                  (2, 'Dan Ray', NULL, '0000-00-00', NULL, NULL);
      CREATE TABLE settings (k TEXT PRIMARY KEY, v TEXT); INSERT INTO settings VALUES ('a', 'b');
      CREATE TABLE unsubscribes (uid INTEGER PRIMARY KEY, channel TEXT, contact TEXT, created_at TEXT, reason TEXT);
      INSERT INTO unsubscribes VALUES (1, 'SMS', '617-555-0199', '2022-03-04', ''),
                                      (2, 'email', 'Zed@Example.com', '2022-03-05T10:00:00Z', 'bounced');
      CREATE TABLE do_not_call (n INTEGER PRIMARY KEY, number TEXT); INSERT INTO do_not_call VALUES (1, '2125550177');`);
    db.close();
    const manifest = await migrateSource(platform, {
      from: `sqlite:${file}`,
      mapping: mappingFile("sqlite-mapping.json", { tables: { settings: { target: "drop" } } }),
    });
    expectComplete(manifest, [
      row("contacts", 2, 2, 0, 0),
      row("do_not_call", 1, 1, 0, 0),
      row("settings", 1, 0, 0, 1),
      row("unsubscribes", 2, 2, 0, 0),
    ]);
    expect(await optOutsOf("unsubscribes")).toEqual([
      {
        channel: "sms",
        value: "+16175550199",
        opted_out_at: new Date("2022-03-04T00:00:00Z"),
        reason: null,
        lineage: "sqlite:crm.sqlite/unsubscribes/1",
        extra: { table: "unsubscribes", pk: "1", columns: { uid: "1" }, exact: { reason: "" } },
      },
      {
        channel: "email",
        value: "zed@example.com",
        opted_out_at: new Date("2022-03-05T10:00:00Z"),
        reason: "bounced",
        lineage: "sqlite:crm.sqlite/unsubscribes/2",
        extra: { table: "unsubscribes", pk: "2", columns: { uid: "2" } },
      },
    ]);
    expect(await dncOf("do_not_call")).toEqual([
      {
        phone: "2125550177",
        listed: true,
        lineage: "sqlite:crm.sqlite/do_not_call/1",
        extra: { table: "do_not_call", pk: "1", columns: { n: "1" } },
      },
    ]);
    const ann = await recordOf("sqlite:crm.sqlite/contacts/1");
    expect(ann).toMatchObject({ first_name: "Ann", last_name: "Smith", dob: "1980-02-29" });
    expect(ann.raw.extra.columns).toEqual({ contact_id: "1", score: "12.5", ext_id: "9007199254740993" });
  }, 240_000);
});

describe("leadpipe migrate --resume", () => {
  it("continues an interrupted run after its last checkpoint and ends as a clean run would, no row twice", async () => {
    const folder = path.join(tmp, "resume");
    mkdirSync(folder);
    const rows = Array.from({ length: 25 }, (_v, i) => `First${i},Last${i},p${i}@example.com`);
    writeFileSync(path.join(folder, "leads.csv"), "first_name,last_name,email\n" + rows.join("\n") + "\n");
    const from = `csv:${folder}`;
    const opts: Migration.RunOptions = { mapping: { tables: {} }, rangeRows: 10, timeZone: "UTC" };
    // The first invocation dies after landing two of the three ranges (their checkpoints written).
    const reader = await Migration.openReader(from);
    const runId = await Migration.startRun(platform.pool, reader.label, opts);
    let landedRanges = 0;
    const land = async (key: string, body: Buffer) => {
      if (landedRanges === 2) throw new Error("killed");
      landedRanges++;
      await platform.s3.send(
        new PutObjectCommand({ Bucket: platform.bucket, Key: key, Body: body, ContentLength: body.length }),
      );
    };
    await expect(Migration.landTables({ pool: platform.pool, reader, land }, runId, opts)).rejects.toThrow("killed");
    await reader.close();
    const { rows: checkpoints } = await platform.pool.query(
      "SELECT range_no, last_key FROM migration_ranges WHERE run_id = $1 ORDER BY range_no",
      [runId],
    );
    expect(checkpoints).toEqual([
      { range_no: 0, last_key: ["10"] },
      { range_no: 1, last_key: ["20"] },
    ]);

    const resumed = await migrateSource(platform, { from, resume: runId });
    expect(resumed.run_id).toBe(runId);
    expectComplete(resumed, [row("leads", 25, 25, 0, 0)]);
    const {
      rows: [landed],
    } = await platform.pool.query(
      "SELECT count(*)::int AS n, count(DISTINCT source_key)::int AS keys FROM person_records WHERE source_key LIKE 'legacy_id=CSV:RESUME/LEADS/%'",
    );
    expect(landed).toEqual({ n: 25, keys: 25 });
    const { rows: ranges } = await platform.pool.query(
      "SELECT range_no, after_key, last_key, source_rows FROM migration_ranges WHERE run_id = $1 ORDER BY range_no",
      [runId],
    );
    expect(ranges).toEqual([
      { range_no: 0, after_key: null, last_key: ["10"], source_rows: 10 },
      { range_no: 1, after_key: ["10"], last_key: ["20"], source_rows: 10 },
      { range_no: 2, after_key: ["20"], last_key: ["25"], source_rows: 5 },
    ]);
    // A clean run of the same source lands the same three objects: all DUPLICATE, nothing changes.
    const clean = await migrateSource(platform, { from, rangeRows: 10 });
    expect(Migration.summary(clean).tables).toEqual(Migration.summary(resumed).tables);
    const {
      rows: [imports],
    } = await platform.pool.query(
      "SELECT count(*) FILTER (WHERE status <> 'DUPLICATE')::int AS real, count(*)::int AS n FROM imports WHERE object_key LIKE 'inbox/legacy-contacts/migrate/csv_resume/%'",
    );
    expect(imports).toEqual({ real: 3, n: 6 });
  }, 240_000);
});
