/**
 * The AWS shape of `leadpipe migrate`: stacks/legacy-migration.asl.json executed locally
 * (aws-local-stepfunctions, as the platform runs the ingest machine) with each task bound to its
 * handler in functions/legacy-*.ts, on a MariaDB source. aws-local-stepfunctions runs the Distributed
 * Map's items as inline iterations and has no ItemReader: its ItemReader reads the same S3 object through
 * a Task put before the Map (packages/local/src/legacy-machine.ts); test/infra asserts the Map's
 * DISTRIBUTED fields. The manifest must be the one the CLI prints for the same source, the ranges the
 * same objects, a retried item must change nothing, and a failed run must end FAILED, alerted, resumable.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Migration, RetryableError, resetConfig } from "@leadpipe/core";
import { migrateSource, verifyRun } from "../../packages/local/src/commands/migrate";
import { runLegacyMachine } from "../../packages/local/src/legacy-machine";
import { row, startLegacyCrm, TABLES } from "../support/legacy-crm";
import type { RunningMariaDb } from "../support/mariadb";
import { usePlatform } from "../support/platform";

const use = usePlatform("leadpipe-legacy-machine-", { chunkRows: 100, timeoutMs: 180_000 });
let maria: RunningMariaDb;
let mysqlUrl: string;

beforeAll(async () => {
  ({ maria, mysqlUrl } = await startLegacyCrm(path.join(use.tmp, "mariadb")));
  // The handlers read the source as the Lambdas read their secret: from the environment, never from the input.
  process.env.LEGACY_SOURCE = mysqlUrl;
  resetConfig();
}, 180_000);

afterAll(async () => {
  delete process.env.LEGACY_SOURCE;
  resetConfig();
  await maria?.stop();
});

type Output = { run_id: string; status: string; manifest_key: string; tables: unknown[] };

/** A run's checkpoints: the ranges, their bounds and what they landed (the same objects are the same bytes). */
async function ranges(runId: string) {
  const { rows } = await use.platform.pool.query(
    `SELECT table_name, range_no, after_key, last_key, source_rows, quarantined, dropped, pks, object_key, sha256, checksum
       FROM migration_ranges WHERE run_id = $1 ORDER BY table_name, range_no`,
    [runId],
  );
  return rows;
}

const importsOf = async (objectKey: string) =>
  (
    await use.platform.pool.query<{ status: string }>("SELECT status FROM imports WHERE object_key = $1 ORDER BY seq", [
      objectKey,
    ])
  ).rows.map((r) => r.status);

/** A run's range checks (one row per range), without the reconciliation's id and time. */
async function checks(runId: string) {
  const { rows } = await use.platform.pool.query(
    `SELECT table_name, range_no, source_rows, loaded, quarantined, dropped, differences, refused
       FROM migration_range_checks WHERE run_id = $1 ORDER BY table_name, range_no`,
    [runId],
  );
  return rows;
}

/** A stored manifest without the time it was checked at. */
async function storedManifest(runId: string) {
  const { rows } = await use.platform.pool.query("SELECT manifest FROM migration_runs WHERE run_id = $1", [runId]);
  const { checked_at: _t, ...m } = rows[0].manifest as Migration.Manifest;
  return m;
}

/**
 * What the migration's Lambdas asked the source while `work` ran, per connection (each invocation opens
 * its own): MariaDB's general log, kept as a table for the time of `work`.
 */
async function sourceStatements(work: () => Promise<unknown>): Promise<string[][]> {
  const root = await maria.root();
  try {
    await root.query("SET GLOBAL log_output = 'TABLE'; TRUNCATE mysql.general_log; SET GLOBAL general_log = 'ON'");
    await work();
    await root.query("SET GLOBAL general_log = 'OFF'");
    const [rows] = await root.query<import("mysql2/promise").RowDataPacket[]>(
      `SELECT thread_id, CONVERT(argument USING utf8mb4) AS statement FROM mysql.general_log
        WHERE command_type = 'Query' AND user_host LIKE 'legacy[%' ORDER BY event_time, thread_id`,
    );
    const byConnection = new Map<number, string[]>();
    for (const r of rows) byConnection.set(r.thread_id, [...(byConnection.get(r.thread_id) ?? []), r.statement]);
    return [...byConnection.values()];
  } finally {
    await root.query("SET GLOBAL general_log = 'OFF'");
    await root.end();
  }
}

/** A statement that reads the source's catalogue (LegacyReader.tables(): columns, primary keys, foreign keys). */
const readsCatalogue = (statement: string) => /information_schema/i.test(statement);

/** The tasks whose Lambda reads the source (one connection per invocation). */
const READS_SOURCE = ["Open", "Plan", "LandRange", "ReconcileRange", "Reconcile"];

/**
 * Migrates the campaigns (two ranges) with `ddl` run on the source once planned, before any item reads
 * (each item waits for it: every item's snapshot has it); the execution must fail. Returns the run.
 */
async function campaignsChangedUnderItems(root: import("mysql2/promise").Connection, ddl: string): Promise<string> {
  let runId = "";
  let changing: Promise<unknown> | undefined;
  const run = runLegacyMachine(
    use.platform,
    { range_rows: 2, only: ["campaigns"] },
    {
      async beforeTask(state, payload) {
        if (state !== "LandRange") return;
        runId = (payload as Migration.RangeItem).run_id;
        await (changing ??= root.query(ddl));
      },
    },
  );
  await expect(run).rejects.toMatchObject({ cause: { name: "LegacyMigrationFailed" } });
  return runId;
}

let machineRun: string;

describe("the legacy migration state machine (stacks/legacy-migration.asl.json)", () => {
  it("migrates the MariaDB CRM with the CLI's manifest; an item retried after it landed changes nothing", async () => {
    const calls: string[] = [];
    let failedOnce = false;
    let checkFailedOnce = false;
    let output = {} as Output;
    const statements = await sourceStatements(async () => {
      output = (await runLegacyMachine(
        use.platform,
        { range_rows: 2 },
        {
          async beforeTask(state, payload) {
            calls.push(state);
            const item = payload as Migration.RangeItem;
            // The Lambda of customers' range 1 lands it, then dies before answering: the Map's Retry runs it again.
            if (state === "LandRange" && item.table === "customers" && item.range_no === 1 && !failedOnce) {
              failedOnce = true;
              await use.platform.invoke("legacy-land-range", payload);
              throw new RetryableError("the connection was reset after the range landed");
            }
            // The same for a reconcile item: its check is stored, then the Lambda dies; the retry replaces it.
            const check = payload as Migration.CheckItem;
            if (state === "ReconcileRange" && check.table === "phones" && check.range_no === 0 && !checkFailedOnce) {
              checkFailedOnce = true;
              await use.platform.invoke("legacy-reconcile-range", payload);
              throw new RetryableError("the connection was reset after the range was reconciled");
            }
          },
        },
      )) as Output;
    });
    machineRun = output.run_id;
    expect(output).toEqual({
      run_id: output.run_id,
      status: "COMPLETE",
      manifest_key: `reports/migrations/${output.run_id}/manifest.json`,
      tables: TABLES,
    });
    // Two phases (touchpoints after the others' imports), one plan each: customers 3 rows → ranges 0, 1.
    expect(calls.filter((s) => s === "Plan")).toHaveLength(2);
    expect(calls.filter((s) => s === "Open")).toHaveLength(1);
    const planned = await use.platform.s3.send(
      new GetObjectCommand({ Bucket: use.platform.bucket, Key: Migration.itemsKey(output.run_id, "first") }),
    );
    const items = JSON.parse(await planned.Body!.transformToString()) as Migration.RangeItem[];
    expect(items.filter((i) => i.table === "customers")).toEqual([
      { run_id: output.run_id, table: "customers", range_no: 0, after_key: null, up_to: ["2"] },
      { run_id: output.run_id, table: "customers", range_no: 1, after_key: ["2"], up_to: null },
    ]);
    expect(items.some((i) => i.table === "touchpoints")).toBe(false);
    const later = await use.platform.s3.send(
      new GetObjectCommand({ Bucket: use.platform.bucket, Key: Migration.itemsKey(output.run_id, "later") }),
    );
    const laterItems = JSON.parse(await later.Body!.transformToString()) as Migration.RangeItem[];
    expect(laterItems.map((i) => [i.table, i.range_no])).toEqual([
      ["touchpoints", 0],
      ["touchpoints", 1],
      ["touchpoints", 2],
    ]);
    // The retried item: run twice, landed once (its second run found its checkpoint and read nothing).
    expect(calls.filter((s) => s === "LandRange")).toHaveLength(items.length + laterItems.length + 1);
    const [range1] = (await ranges(output.run_id)).filter((r) => r.table_name === "customers" && r.range_no === 1);
    expect(await importsOf(range1.object_key)).toEqual(["COMPLETE_WITH_ERRORS"]);

    // Reconciled by the second Map: one item per range, read from the plan's object, each check stored once
    // (the retried item replaced its own row), all by one reconciliation, summed into the manifest.
    const all = await ranges(output.run_id);
    expect(calls.filter((s) => s === "PlanReconcile")).toHaveLength(1);
    expect(calls.filter((s) => s === "ReconcileRange")).toHaveLength(all.length + 1);
    const { rows: ids } = await use.platform.pool.query(
      "SELECT DISTINCT check_id FROM migration_range_checks WHERE run_id = $1",
      [output.run_id],
    );
    expect(ids).toHaveLength(1);
    const planned2 = await use.platform.s3.send(
      new GetObjectCommand({ Bucket: use.platform.bucket, Key: Migration.checksKey(output.run_id, ids[0].check_id) }),
    );
    const checkItems = JSON.parse(await planned2.Body!.transformToString()) as Migration.CheckItem[];
    expect(checkItems.map((i) => [i.table, i.range_no])).toEqual(all.map((r) => [r.table_name, r.range_no]));
    const perRange = await checks(output.run_id);
    expect(perRange.map((c) => [c.table_name, c.range_no])).toEqual(all.map((r) => [r.table_name, r.range_no]));
    // The per-table sums are the manifest's: customers' two ranges hold its 3 rows, 2 loaded and Cy refused.
    const customers = perRange.filter((c) => c.table_name === "customers");
    expect(customers.map((c) => c.source_rows)).toEqual([2, 1]);
    expect(customers.reduce((n, c) => n + c.loaded, 0)).toBe(2);
    expect(customers.flatMap((c) => c.refused)).toEqual(["3"]);

    const { rows: stored } = await use.platform.pool.query(
      "SELECT status, status_reason, manifest FROM migration_runs WHERE run_id = $1",
      [output.run_id],
    );
    expect(stored[0]).toMatchObject({ status: "COMPLETE", status_reason: null });
    expect(Migration.summary(stored[0].manifest).tables).toEqual(TABLES);

    // The source's catalogue is read by four steps, once each: Open (the run keeps it), Plan per phase (the
    // source must still be as it was) and Reconcile (a change since is a difference). No item reads it: each
    // of their connections read its range's rows only, with the run's specs.
    expect(statements).toHaveLength(calls.filter((s) => READS_SOURCE.includes(s)).length);
    expect(statements.filter((c) => c.some(readsCatalogue)).map((c) => c.filter(readsCatalogue).length)).toEqual([
      3, 3, 3, 3,
    ]);
    const itemConnections = statements.filter((c) => !c.some(readsCatalogue));
    expect(itemConnections).toHaveLength(calls.filter((s) => s === "LandRange" || s === "ReconcileRange").length);
    // Each read rows, but the retried LandRange that found its checkpoint.
    const readRows = itemConnections.filter((c) => c.some((q) => /^SELECT .* FROM `\w+`/.test(q)));
    expect(readRows).toHaveLength(itemConnections.length - 1);
  });

  it("gives the manifest `migrate verify` gives: the same range checks, summed the same, on two lanes", async () => {
    const manifest = await storedManifest(machineRun);
    const perRange = await checks(machineRun);
    const said: string[] = [];
    const verified = await verifyRun(use.platform, machineRun, mysqlUrl, 2, (line) => said.push(line));
    expect(said.filter((line) => /one connection/.test(line))).toEqual([]);
    const { checked_at: _t, ...cli } = verified;
    expect(cli).toEqual(manifest);
    expect(await checks(machineRun)).toEqual(perRange);
    expect(await storedManifest(machineRun)).toEqual(manifest);
    // A sum counts only the ranges its own reconciliation checked: another's (or none) is refused.
    const { rows: ids } = await use.platform.pool.query(
      "SELECT DISTINCT check_id FROM migration_range_checks WHERE run_id = $1",
      [machineRun],
    );
    expect(ids).toHaveLength(1);
    await expect(
      Migration.withReader(mysqlUrl, (reader) =>
        Migration.sumChecks(use.platform.pool, reader, machineRun, "00000000-0000-4000-8000-000000000000"),
      ),
    ).rejects.toThrow(/did not check \d+ range\(s\) \(first: addresses range 0, checked by another reconciliation\)/);
    // One range left from another reconciliation is enough to refuse the sum, and it is named.
    const [{ check_id: checkId }] = ids;
    const other = "00000000-0000-4000-8000-000000000001";
    const moved = await use.platform.pool.query(
      "UPDATE migration_range_checks SET check_id = $3 WHERE run_id = $1 AND check_id = $2 AND table_name = 'customers' AND range_no = 1",
      [machineRun, checkId, other],
    );
    expect(moved.rowCount).toBe(1);
    try {
      await expect(
        Migration.withReader(mysqlUrl, (reader) => Migration.sumChecks(use.platform.pool, reader, machineRun, checkId)),
      ).rejects.toThrow(/did not check 1 range\(s\) \(first: customers range 1, checked by another reconciliation\)/);
    } finally {
      await use.platform.pool.query("UPDATE migration_range_checks SET check_id = $2 WHERE run_id = $1", [
        machineRun,
        checkId,
      ]);
    }
    expect(await storedManifest(machineRun)).toEqual(manifest);
  });

  it("fails the execution and alerts when a range's checksum differs: the manifest names the row", async () => {
    const alerts = use.platform.alerts.length;
    const root = await maria.root();
    let runId = "";
    try {
      const run = runLegacyMachine(
        use.platform,
        { range_rows: 2, only: ["campaigns"] },
        {
          async beforeTask(state, payload) {
            if (state !== "PlanReconcile") return;
            runId = (payload as { run_id: string }).run_id;
            // Changed on the source after it landed: reconcile reads it again.
            await root.query("UPDATE crm.campaigns SET description = 'Autumn refinance' WHERE id = 1");
          },
        },
      );
      await expect(run).rejects.toMatchObject({ cause: { name: "LegacyMigrationFailed" } });
    } finally {
      await root.query("UPDATE crm.campaigns SET description = 'Spring  refinance' WHERE id = 1");
      await root.end();
    }
    const { rows } = await use.platform.pool.query("SELECT status, manifest FROM migration_runs WHERE run_id = $1", [
      runId,
    ]);
    expect(rows[0].status).toBe("UNBALANCED");
    const [campaigns] = (rows[0].manifest as Migration.Manifest).tables;
    expect(campaigns).toMatchObject({ table: "campaigns", source_rows: 3, checksums_match: false });
    expect(campaigns!.differences).toEqual([
      { pk: "1", columns: ["description"], reason: "landed values differ from the source" },
    ]);
    const alert = use.platform.alerts.slice(alerts).find((a) => a.subject?.includes(runId));
    expect(alert?.message).toContain(`Migration run ${runId} is UNBALANCED`);
    expect(alert?.message).toContain(Migration.manifestKey(runId));
  });

  it("lands the same ranges as the CLI: same bounds, same objects, and the CLI's run after it changes nothing", async () => {
    const before = await ranges(machineRun);
    const cli = await migrateSource(use.platform, { from: mysqlUrl, rangeRows: 2 });
    expect(Migration.summary(cli)).toEqual({ run_id: cli.run_id, status: "COMPLETE", tables: TABLES });
    expect(await ranges(cli.run_id)).toEqual(before);
    // Every object was landed again with the same bytes: a DUPLICATE import of the machine's.
    for (const r of before.filter((x) => x.object_key))
      expect((await importsOf(r.object_key)).at(-1), r.object_key).toBe("DUPLICATE");
  });

  it("ends a run FAILED with its reason and an alert when an item fails for good; resuming it completes it", async () => {
    const alerts = use.platform.alerts.length;
    let runId = "";
    const failed = runLegacyMachine(
      use.platform,
      { range_rows: 2 },
      {
        beforeTask(state, payload) {
          const item = payload as Migration.RangeItem;
          if (state === "LandRange") runId = item.run_id;
          if (state === "LandRange" && item.table === "phones" && item.range_no === 1)
            throw new Error("phones range 1: the legacy table was dropped");
        },
      },
    );
    await expect(failed).rejects.toMatchObject({ cause: { name: "LegacyMigrationFailed" } });
    const { rows } = await use.platform.pool.query(
      "SELECT status, status_reason FROM migration_runs WHERE run_id = $1",
      [runId],
    );
    expect(rows[0].status).toBe("FAILED");
    expect(rows[0].status_reason).toContain("phones range 1: the legacy table was dropped");
    const alert = use.platform.alerts.slice(alerts).find((a) => a.subject?.includes(runId));
    expect(alert?.message).toContain(`{"resume_run_id": "${runId}"}`);

    // Resumed: ranges checkpointed by the failed execution are not read again, the rest lands.
    const landedBefore = (await ranges(runId)).filter((r) => r.table_name !== "phones").length;
    const resumed = (await runLegacyMachine(use.platform, { resume_run_id: runId })) as Output;
    expect(resumed).toMatchObject({ run_id: runId, status: "COMPLETE", tables: TABLES });
    expect((await ranges(runId)).length).toBeGreaterThan(landedBefore);
  });

  it("lands and checks a run with the columns it planned when one is added under it; the manifest names it", async () => {
    const alerts = use.platform.alerts.length;
    const root = await maria.root();
    let runId = "";
    try {
      runId = await campaignsChangedUnderItems(
        root,
        "ALTER TABLE crm.campaigns ADD COLUMN note VARCHAR(20) DEFAULT 'new'",
      );
    } finally {
      await root.query("ALTER TABLE crm.campaigns DROP COLUMN IF EXISTS note");
      await root.end();
    }
    // The objects are the first run's, byte for byte: the columns the run planned, not the one added since.
    const objects = (rs: Record<string, unknown>[]) => rs.map((r) => [r.range_no, r.object_key, r.sha256]);
    const first = (await ranges(machineRun)).filter((r) => r.table_name === "campaigns");
    expect(objects(await ranges(runId))).toEqual(objects(first));
    // Its ranges check out; the table does not, and the manifest says why.
    const { rows } = await use.platform.pool.query("SELECT status, manifest FROM migration_runs WHERE run_id = $1", [
      runId,
    ]);
    expect(rows[0].status).toBe("UNBALANCED");
    expect((rows[0].manifest as Migration.Manifest).tables).toEqual([
      {
        table: "campaigns",
        target: "campaigns",
        source_rows: 3,
        loaded: 2,
        quarantined: 1,
        dropped: 0,
        balanced: true,
        checksums_match: false,
        differences: [
          { pk: "*", columns: ["note"], reason: "campaigns changed since the run began: column note added" },
        ],
      },
    ]);
    expect(
      use.platform.alerts.slice(alerts).some((a) => a.message?.includes(`Migration run ${runId} is UNBALANCED`)),
    ).toBe(true);
  });

  it("refuses clearly a run whose source lost a column it planned, until the column is back", async () => {
    const root = await maria.root();
    let runId = "";
    const run = async () =>
      (
        await use.platform.pool.query<{ status: string; status_reason: string | null }>(
          "SELECT status, status_reason FROM migration_runs WHERE run_id = $1",
          [runId],
        )
      ).rows[0];
    try {
      runId = await campaignsChangedUnderItems(root, "ALTER TABLE crm.campaigns RENAME COLUMN description TO summary");
      // An item reads the columns the run planned: one is gone, and the reason says the source changed.
      expect(await run()).toMatchObject({ status: "FAILED" });
      expect((await run())!.status_reason).toMatch(
        new RegExp(
          `landing campaigns range \\d: the source changed since run ${runId} began \\(Unknown column 'description'.*\\): ` +
            "put it back as it was and resume, or migrate it as a new run",
        ),
      );
      // Resumed as it is: planning reads the catalogue once, finds it changed and refuses, naming the change.
      await expect(runLegacyMachine(use.platform, { resume_run_id: runId })).rejects.toMatchObject({
        cause: { name: "LegacyMigrationFailed" },
      });
      expect(await run()).toEqual({
        status: "FAILED",
        status_reason:
          `SourceChangedError: the source changed since run ${runId} began (campaigns: column description dropped, ` +
          "column summary added): put it back as it was and resume, or migrate it as a new run",
      });
      expect(await ranges(runId)).toEqual([]);
    } finally {
      await root.query("ALTER TABLE crm.campaigns RENAME COLUMN IF EXISTS summary TO description");
      await root.end();
    }
    // Put back as it was, the run resumes and completes.
    const resumed = (await runLegacyMachine(use.platform, { resume_run_id: runId })) as Output;
    expect(resumed).toMatchObject({ run_id: runId, status: "COMPLETE", tables: [row("campaigns", 3, 2, 1)] });
  });

  it("refuses a bad input before a run exists, and alerts why", async () => {
    const alerts = use.platform.alerts.length;
    const { rows: before } = await use.platform.pool.query("SELECT count(*)::int AS n FROM migration_runs");
    await expect(runLegacyMachine(use.platform, { only: ["no_such_table"] })).rejects.toMatchObject({
      cause: { name: "LegacyMigrationFailed" },
    });
    const { rows: after } = await use.platform.pool.query("SELECT count(*)::int AS n FROM migration_runs");
    expect(after[0].n).toBe(before[0].n);
    const alert = use.platform.alerts.slice(alerts).at(-1);
    expect(alert?.message).toMatch(/The migration did not start: .*no_such_table/);
    // The source's password never reaches the alert.
    expect(JSON.stringify(use.platform.alerts)).not.toContain("legacy-pass");
  });
});
