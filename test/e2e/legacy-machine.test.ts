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
import { migrateSource } from "../../packages/local/src/commands/migrate";
import { runLegacyMachine } from "../../packages/local/src/legacy-machine";
import { startLegacyCrm, TABLES } from "../support/legacy-crm";
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

let machineRun: string;

describe("the legacy migration state machine (stacks/legacy-migration.asl.json)", () => {
  it("migrates the MariaDB CRM with the CLI's manifest; an item retried after it landed changes nothing", async () => {
    const calls: string[] = [];
    let failedOnce = false;
    const output = (await runLegacyMachine(
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
        },
      },
    )) as Output;
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

    const { rows: stored } = await use.platform.pool.query(
      "SELECT status, status_reason, manifest FROM migration_runs WHERE run_id = $1",
      [output.run_id],
    );
    expect(stored[0]).toMatchObject({ status: "COMPLETE", status_reason: null });
    expect(Migration.summary(stored[0].manifest).tables).toEqual(TABLES);
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
